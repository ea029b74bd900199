/** On the form that creates a session: keep items for devices that are not connected. */
import { Checkbox, Text } from '@chakra-ui/react';

export function KeepItemsSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid="keep-items">
      <Checkbox.HiddenInput name="inbox" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        Keep items for absent devices
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          When this creates a new session: the server keeps each item, still encrypted, for a while (an hour unless it is set otherwise), so devices that join later get it.
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
