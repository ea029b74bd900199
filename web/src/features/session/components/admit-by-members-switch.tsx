/** On the form that creates a session: make it a format 3 one, whose members admit new devices. */
import { Checkbox, Text } from '@chakra-ui/react';

export function AdmitByMembersSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid="admit-by-members">
      <Checkbox.HiddenInput name="format3" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        Members admit new devices
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          When this creates a new session: its key is random, a device that types the passphrase is let in by a device already in the session, and the server has nothing to test passphrase guesses against.
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
