/** How far back our items are re-sent to members who join later (issue 4, point 7). */
import { NativeSelect, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { RECENT_MINUTES_CHOICES, settings } from '../../../config/settings';

const label = (m: number) => (m === 0 ? 'Nothing' : m < 60 ? `Last ${m} minutes` : m < 1440 ? `Last ${m / 60} hours` : 'Last 24 hours');

export function RecentSetting() {
  const [minutes, setMinutes] = useState(settings.recentMinutes());
  return (
    <label>
      <Text fontSize="sm" mb="1.5">
        Newcomers get
      </Text>
      <NativeSelect.Root size="sm">
        <NativeSelect.Field
          value={minutes}
          onChange={(e) => {
            const v = Number(e.currentTarget.value);
            setMinutes(v);
            settings.setRecentMinutes(v);
          }}
        >
          {RECENT_MINUTES_CHOICES.map((m) => (
            <option key={m} value={m}>
              {label(m)} of your items
            </option>
          ))}
        </NativeSelect.Field>
        <NativeSelect.Indicator />
      </NativeSelect.Root>
    </label>
  );
}
