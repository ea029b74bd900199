/**
 * Who the composer sends to: everyone in the session, or one member alone (docs/protocol.md,
 * `to`: the server relays it to that member only, and it is neither kept in the inbox nor
 * offered to devices that join later).
 */
import { NativeSelect } from '@chakra-ui/react';
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
  return (
    <NativeSelect.Root size="xs" width="auto" disabled={disabled}>
      <NativeSelect.Field aria-label="Send to" data-testid="recipient" value={to ?? ''} onChange={(e) => onChange(e.currentTarget.value || undefined)}>
        <option value="">To everyone</option>
        {members.map((m) => (
          <option key={m.id} value={m.id}>
            To {m.name} only
          </option>
        ))}
      </NativeSelect.Field>
      <NativeSelect.Indicator />
    </NativeSelect.Root>
  );
}
