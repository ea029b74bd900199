/**
 * Light and dark: follows the system unless the user picks one; the choice is remembered.
 * Applied as a class on <html>, which is what Chakra's `_dark` condition reads.
 */
import { IconButton } from '@chakra-ui/react';
import { Moon, Sun } from 'lucide-react';
import { useEffect, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import { settings } from '../../config/settings';

type Mode = 'light' | 'dark';

const media = () => window.matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set<() => void>();
let choice = settings.colorMode();

const resolved = (): Mode => (choice === 'system' ? (media().matches ? 'dark' : 'light') : choice);

export function applyColorMode() {
  const mode = resolved();
  const root = document.documentElement;
  root.classList.toggle('dark', mode === 'dark');
  root.classList.toggle('light', mode === 'light');
  root.style.colorScheme = mode;
}

function subscribe(l: () => void) {
  listeners.add(l);
  const m = media();
  const onChange = () => {
    applyColorMode();
    l();
  };
  m.addEventListener('change', onChange);
  return () => {
    listeners.delete(l);
    m.removeEventListener('change', onChange);
  };
}

export function useColorMode() {
  const mode = useSyncExternalStore(subscribe, resolved);
  useEffect(applyColorMode, [mode]);
  const toggle = () => {
    choice = mode === 'dark' ? 'light' : 'dark';
    // Picking the system's own mode again means "follow the system".
    if (choice === (media().matches ? 'dark' : 'light')) choice = 'system';
    settings.setColorMode(choice);
    applyColorMode();
    for (const l of listeners) l();
  };
  return { mode, toggle };
}

export function ColorModeButton() {
  const { t } = useTranslation();
  const { mode, toggle } = useColorMode();
  const label = mode === 'dark' ? t('ui.toLight') : t('ui.toDark');
  return (
    <IconButton aria-label={label} title={label} variant="ghost" size="sm" onClick={toggle}>
      {mode === 'dark' ? <Sun /> : <Moon />}
    </IconButton>
  );
}
