/** Up to what size items offered to this device (as a late joiner) arrive without asking. */
import { Text } from '@chakra-ui/react';
import { useState } from 'react';
import { NumberSelect } from '../../../components/ui/number-select';
import { AUTO_FETCH_MIB_CHOICES, settings } from '../../../config/settings';

const label = (m: number) => (m === 0 ? 'Nothing: I choose each one' : m < 1024 ? `Items up to ${m} MB` : `Items up to ${m / 1024} GB`);

export function AutoFetchSetting() {
  const [mib, setMib] = useState(settings.autoFetchMiB());
  return (
    <label>
      <Text fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted" mt="5" mb="2">
        When I join, fetch
      </Text>
      <NumberSelect
        data-testid="auto-fetch"
        value={mib}
        choices={AUTO_FETCH_MIB_CHOICES}
        label={label}
        onChange={(v) => {
          setMib(v);
          settings.setAutoFetchMiB(v);
        }}
      />
    </label>
  );
}
