/**
 * The two switches (check boxes) for arrival alerts: a notification when an item arrives while
 * this page is hidden (ticking it asks the browser's permission), and the unseen count on the
 * app icon and in the tab title.
 */
import { Checkbox, Stack, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { alertEnabled, setAlertEnabled, type AlertPreference } from '../preferences';

const hasNotifications = () => typeof Notification !== 'undefined';

interface ToggleProps {
  which: AlertPreference;
  label: string;
  hint?: string;
  /** False while the browser does not allow it: the switch then shows off. */
  allowed?: boolean;
  /** Runs when switched on; false keeps it off. */
  onEnable?: () => Promise<boolean>;
}

function Toggle({ which, label, hint, allowed = true, onEnable }: ToggleProps) {
  const [on, setOn] = useState(() => alertEnabled(which));
  return (
    <Stack gap="0.5">
      <Checkbox.Root
        size="sm"
        alignItems="start"
        checked={on && allowed}
        data-testid={`alert-${which}`}
        onCheckedChange={async ({ checked }) => {
          const wanted = checked === true;
          const allowed = wanted && onEnable ? await onEnable() : wanted;
          setOn(allowed);
          setAlertEnabled(which, allowed);
        }}
      >
        <Checkbox.HiddenInput />
        <Checkbox.Control mt="0.5" />
        <Checkbox.Label fontSize="sm" fontWeight="normal">
          {label}
        </Checkbox.Label>
      </Checkbox.Root>
      {hint && (
        <Text fontSize="xs" color="fg.muted" ps="6">
          {hint}
        </Text>
      )}
    </Stack>
  );
}

export function AlertSettings() {
  const { t } = useTranslation();
  const [permission, setPermission] = useState(() => (hasNotifications() ? Notification.permission : 'denied'));
  const askPermission = async () => {
    const result = permission === 'default' ? await Notification.requestPermission() : permission;
    setPermission(result);
    return result === 'granted';
  };
  const hint = !window.isSecureContext
    ? t('settings.notifyNeedsHttps')
    : !hasNotifications()
    ? t('settings.notifyUnsupported')
    : permission === 'denied'
      ? t('settings.notifyBlocked')
      : permission === 'default'
        ? t('settings.notifyTick')
        : undefined;
  return (
    <Stack gap="3">
      <Text fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted">
        {t('settings.whileHidden')}
      </Text>
      <Toggle
        which="notifications"
        label={t('settings.notify')}
        hint={hint}
        allowed={permission === 'granted'}
        onEnable={hasNotifications() ? askPermission : async () => false}
      />
      <Toggle which="badge" label={t('settings.badge')} />
    </Stack>
  );
}
