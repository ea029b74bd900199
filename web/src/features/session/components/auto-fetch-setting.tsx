/** Up to what size items offered to this device (as a late joiner) arrive without asking. */
import { NativeSelect, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { AUTO_FETCH_MIB_CHOICES, settings } from '../../../config/settings';

const label = (m: number) => (m === 0 ? 'Nothing: I choose each one' : m < 1024 ? `Items up to ${m} MB` : `Items up to ${m / 1024} GB`);

export function AutoFetchSetting() {
  const [mib, setMib] = useState(settings.autoFetchMiB());
  return (
    <label>
      <Text fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted" mt="5" mb="2">
        When I join, fetch
      </Text>
      <NativeSelect.Root size="sm">
        <NativeSelect.Field
          data-testid="auto-fetch"
          value={mib}
          onChange={(e) => {
            const v = Number(e.currentTarget.value);
            setMib(v);
            settings.setAutoFetchMiB(v);
          }}
        >
          {AUTO_FETCH_MIB_CHOICES.map((m) => (
            <option key={m} value={m}>
              {label(m)}
            </option>
          ))}
        </NativeSelect.Field>
        <NativeSelect.Indicator />
      </NativeSelect.Root>
    </label>
  );
}
