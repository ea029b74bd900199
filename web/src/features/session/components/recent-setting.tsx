/** How far back our items are re-sent to members who join later (issue 4, point 7). */
import { Text } from '@chakra-ui/react';
import { useState } from 'react';
import { NumberSelect } from '../../../components/ui/number-select';
import { RECENT_MINUTES_CHOICES, settings } from '../../../config/settings';

const label = (m: number) => (m === 0 ? 'Nothing' : m < 60 ? `Last ${m} minutes` : m < 1440 ? `Last ${m / 60} hours` : 'Last 24 hours');

export function RecentSetting() {
  const [minutes, setMinutes] = useState(settings.recentMinutes());
  return (
    <label>
      <Text fontSize="sm" mb="1.5">
        Newcomers get
      </Text>
      <NumberSelect
        value={minutes}
        choices={RECENT_MINUTES_CHOICES}
        label={(m) => `${label(m)} of your items`}
        onChange={(v) => {
          setMinutes(v);
          settings.setRecentMinutes(v);
        }}
      />
    </label>
  );
}
