/** How much this device's history keeps: entries and megabytes; the oldest unpinned go first. */
import { HStack, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { t } from '../../../i18n';
import { NumberSelect } from '../../../components/ui/number-select';
import { HISTORY_ITEMS_CHOICES, HISTORY_MIB_CHOICES, settings } from '../../../config/settings';
import { deviceHistory } from '../device-history';

const itemsLabel = (n: number) => (n === 0 ? t('settings.historyPinnedOnly') : t('settings.historyLast', { n }));

export function HistorySetting() {
  const { t } = useTranslation();
  const [items, setItems] = useState(settings.historyItems());
  const [mib, setMib] = useState(settings.historyMiB());
  return (
    <div>
      <Text fontSize="sm" mb="1.5" id="history-setting-label">
        {t('settings.historyKeeps')}
      </Text>
      <HStack gap="2" role="group" aria-labelledby="history-setting-label">
        <NumberSelect
          value={items}
          choices={HISTORY_ITEMS_CHOICES}
          label={itemsLabel}
          data-testid="history-items"
          onChange={(v) => {
            setItems(v);
            settings.setHistoryItems(v);
            void deviceHistory().applyBounds();
          }}
        />
        <NumberSelect
          value={mib}
          choices={HISTORY_MIB_CHOICES}
          label={(n) => t('settings.historyUpTo', { n })}
          data-testid="history-mib"
          onChange={(v) => {
            setMib(v);
            settings.setHistoryMiB(v);
            void deviceHistory().applyBounds();
          }}
        />
      </HStack>
    </div>
  );
}
