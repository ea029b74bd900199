/** On the form that creates a session: make it a format 3 one, whose members admit new devices. */
import { Checkbox, Text } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';

export function AdmitByMembersSwitch({ checked, onChange }: { checked: boolean; onChange: (checked: boolean) => void }) {
  const { t } = useTranslation();
  return (
    <Checkbox.Root checked={checked} onCheckedChange={(d) => onChange(d.checked === true)} alignItems="start" data-testid="admit-by-members">
      <Checkbox.HiddenInput name="format3" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="sm" fontWeight="normal">
        {t('createOptions.admitByMembers')}
        <Text as="span" display="block" fontSize="xs" color="fg.muted">
          {t('createOptions.admitByMembersHint')}
        </Text>
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
