/**
 * Who the composer sends to: everyone in the session, or one member alone (docs/protocol.md,
 * `to`: the server relays it to that member only, and it is neither kept in the inbox nor
 * offered to devices that join later).
 */
import { NativeSelect } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';
import type { Member } from '../../../types/protocol';

interface Props {
  /** The other members, who can be chosen. */
  members: Member[];
  /** A member's id, or undefined for everyone. */
  to: string | undefined;
  onChange: (to: string | undefined) => void;
  disabled?: boolean;
}

export function RecipientSelect({ members, to, onChange, disabled }: Props) {
  const { t } = useTranslation();
  return (
    <NativeSelect.Root size="xs" width="auto" disabled={disabled}>
      <NativeSelect.Field aria-label={t('share.sendTo')} data-testid="recipient" value={to ?? ''} onChange={(e) => onChange(e.currentTarget.value || undefined)}>
        <option value="">{t('share.toEveryone')}</option>
        {members.map((m) => (
          <option key={m.id} value={m.id}>
            {t('share.toOnly', { name: m.name })}
          </option>
        ))}
      </NativeSelect.Field>
      <NativeSelect.Indicator />
    </NativeSelect.Root>
  );
}
