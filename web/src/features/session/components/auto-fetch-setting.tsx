/** Up to what size items offered to this device (as a late joiner) arrive without asking. */
import { Text } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { t } from '../../../i18n';
import { NumberSelect } from '../../../components/ui/number-select';
import { AUTO_FETCH_MIB_CHOICES, settings } from '../../../config/settings';

const label = (m: number) => (m === 0 ? t('settings.fetchNothing') : m < 1024 ? t('settings.fetchUpToMB', { n: m }) : t('settings.fetchUpToGB', { n: m / 1024 }));

export function AutoFetchSetting() {
  const { t } = useTranslation();
  const [mib, setMib] = useState(settings.autoFetchMiB());
  return (
    <label>
      <Text fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted" mt="5" mb="2">
        {t('settings.whenIJoin')}
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
