/** How far back our items are re-sent to members who join later (issue 4, point 7). */
import { Text } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { t } from '../../../i18n';
import { NumberSelect } from '../../../components/ui/number-select';
import { RECENT_MINUTES_CHOICES, settings } from '../../../config/settings';

const label = (m: number) =>
  m === 0 ? t('settings.recentNothing') : m < 60 ? t('settings.recentMinutes', { n: m }) : m < 1440 ? t('settings.recentHours', { n: m / 60 }) : t('settings.recentDay');

export function RecentSetting() {
  const { t } = useTranslation();
  const [minutes, setMinutes] = useState(settings.recentMinutes());
  return (
    <label>
      <Text fontSize="sm" mb="1.5">
        {t('settings.newcomersGet')}
      </Text>
      <NumberSelect
        value={minutes}
        choices={RECENT_MINUTES_CHOICES}
        label={label}
        onChange={(v) => {
          setMinutes(v);
          settings.setRecentMinutes(v);
        }}
      />
    </label>
  );
}
