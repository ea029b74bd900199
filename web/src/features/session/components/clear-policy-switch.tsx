/**
 * Format v3, on the creator's device only: whether every member may clear the session, or only
 * the creator (the default). The choice goes to every member signed by the creator's device, and
 * their devices refuse a clear that it does not allow; so does the server, for its inbox.
 */
import { Checkbox } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';
import { useRoom, useRoomValue } from '../../../hooks/use-room';

export function ClearPolicySwitch() {
  const { t } = useTranslation();
  const room = useRoom();
  const { creator, anyoneMayClear } = useRoomValue('clearing');
  if (!creator) return null;
  return (
    <Checkbox.Root
      checked={anyoneMayClear}
      onCheckedChange={(d) => void room.setAnyoneMayClear(d.checked === true)}
      alignItems="start"
      mt="3"
      size="sm"
      data-testid="anyone-may-clear"
    >
      <Checkbox.HiddenInput name="anyoneMayClear" />
      <Checkbox.Control mt="0.5" />
      <Checkbox.Label fontSize="xs" fontWeight="normal">
        {t('session.anyoneMayClear')}
      </Checkbox.Label>
    </Checkbox.Root>
  );
}
