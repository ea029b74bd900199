/**
 * On the form that creates a session: make it a legacy (format 2) one, for a household that still
 * runs an older ShareThings client. Unticked, a new session is format 3.
 */
import { Checkbox, Text } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';

export function LegacyFormatSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  const { t } = useTranslation();
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid="legacy-format">
      <Checkbox.HiddenInput name="legacy" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        {t('createOptions.legacy')}
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          {t('createOptions.legacyHint')}
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
