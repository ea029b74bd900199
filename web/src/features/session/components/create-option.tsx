/**
 * One choice on the form that creates a session (keep items for absent devices; a legacy
 * session): a checkbox, its label, and a hint below that says what it changes.
 */
import { Checkbox, Text } from '@chakra-ui/react';

export function CreateOption({
  name,
  label,
  hint,
  checked,
  onChange,
  testId,
}: {
  name: string;
  label: string;
  hint: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  testId: string;
}) {
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid={testId}>
      <Checkbox.HiddenInput name={name} />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        {label}
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          {hint}
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
