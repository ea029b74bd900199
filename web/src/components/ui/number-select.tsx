/** A small native select of numbers, each shown by `label`, for the settings panel. */
import { NativeSelect } from '@chakra-ui/react';

interface Props {
  value: number;
  choices: readonly number[];
  label: (n: number) => string;
  onChange: (n: number) => void;
  'data-testid'?: string;
}

export function NumberSelect({ value, choices, label, onChange, 'data-testid': testId }: Props) {
  return (
    <NativeSelect.Root size="sm">
      <NativeSelect.Field data-testid={testId} value={value} onChange={(e) => onChange(Number(e.currentTarget.value))}>
        {choices.map((n) => (
          <option key={n} value={n}>
            {label(n)}
          </option>
        ))}
      </NativeSelect.Field>
      <NativeSelect.Indicator />
    </NativeSelect.Root>
  );
}
