/** On the form that creates a session: keep items for devices that are not connected. */
import { Checkbox, Text } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';

export function KeepItemsSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  const { t } = useTranslation();
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid="keep-items">
      <Checkbox.HiddenInput name="inbox" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        {t('createOptions.keepItems')}
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          {t('createOptions.keepItemsHint')}
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
