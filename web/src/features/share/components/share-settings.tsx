/** This device's sharing preferences: ask before sharing a paste, copy received text. */
import { Checkbox, Stack, Text } from '@chakra-ui/react';
import { type Preference, usePreference } from '../../../hooks/use-preference';
import { useTranslation } from 'react-i18next';

/** Copying without a click needs the Clipboard API, which plain HTTP does not have. */
const canCopyUnasked = () => window.isSecureContext && navigator.clipboard !== undefined;

function PreferenceBox({ name, label, unavailable }: { name: Preference; label: string; unavailable?: string }) {
  const [value, setValue] = usePreference(name);
  return (
    <Checkbox.Root size="sm" checked={value && !unavailable} disabled={unavailable !== undefined} onCheckedChange={(d) => setValue(d.checked === true)} alignItems="start">
      <Checkbox.HiddenInput />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontWeight="normal">
        {label}
        {unavailable && (
          <Text as="span" display="block" fontSize="xs" color="fg.muted">
            {unavailable}
          </Text>
        )}
      </Checkbox.Label>
    </Checkbox.Root>
  );
}

export function ShareSettings() {
  const { t } = useTranslation();
  return (
    <Stack gap="3">
      <PreferenceBox name="confirmPaste" label={t('settings.askBeforePaste')} />
      <PreferenceBox
        name="autoCopy"
        label={t('settings.autoCopy')}
        unavailable={canCopyUnasked() ? undefined : t('settings.autoCopyNeedsHttps')}
      />
    </Stack>
  );
}
