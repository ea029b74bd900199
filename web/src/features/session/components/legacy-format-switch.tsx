/**
 * On the form that creates a session: make it a legacy (format 2) one, for a household that still
 * runs an older ShareThings client. Unticked, a new session is format 3.
 */
import { Checkbox, Text } from '@chakra-ui/react';

export function LegacyFormatSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid="legacy-format">
      <Checkbox.HiddenInput name="legacy" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        Legacy session, for older clients
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          When this creates a new session: its key comes from the passphrase, so the server can test passphrase guesses. Only for devices that cannot update ShareThings.
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
