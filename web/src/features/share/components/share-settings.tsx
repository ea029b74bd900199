/** This device's sharing preferences: ask before sharing a paste, copy received text. */
import { Checkbox, Stack } from '@chakra-ui/react';
import { type Preference, usePreference } from '../../../hooks/use-preference';

function PreferenceBox({ name, label }: { name: Preference; label: string }) {
  const [value, setValue] = usePreference(name);
  return (
    <Checkbox.Root size="sm" checked={value} onCheckedChange={(d) => setValue(d.checked === true)} alignItems="start">
      <Checkbox.HiddenInput />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontWeight="normal">{label}</Checkbox.Label>
    </Checkbox.Root>
  );
}

export function ShareSettings() {
  return (
    <Stack gap="3">
      <PreferenceBox name="confirmPaste" label="Ask before sharing a paste" />
      <PreferenceBox name="autoCopy" label="Copy received text automatically" />
    </Stack>
  );
}
