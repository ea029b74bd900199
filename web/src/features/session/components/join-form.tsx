/**
 * The home page form: session name, your name, passphrase; one button creates or joins.
 * Opened from an invitation, the session name is fixed, and when the invitation carries the
 * passphrase the device joins as soon as it has a name: at once if one is remembered.
 */
import { Alert, Box, Button, Field, HStack, IconButton, Input, InputGroup, type InputProps, Stack, Text } from '@chakra-ui/react';
import { Dices, Eye, EyeOff, KeyRound, LockKeyhole } from 'lucide-react';
import { type FormEvent, type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { t } from '../../../i18n';
import type { Invite } from '../../../config/invite';
import { settings } from '../../../config/settings';
import type { RoomClient } from '../../../lib/room/room-client';
import { estimateStrength, generatePassphrase, generateSessionName } from '../../../lib/names';
import { hasStoredRoom } from '../../../lib/membership/room-store';
import type { ApplicantStatus } from '../../../lib/membership/admission/applicant';
import { useJoin } from '../hooks/use-join';

/** What an applicant is doing, in words (format v3's admission by a member). */
function applyingText(s: ApplicantStatus): string {
  switch (s.kind) {
    case 'no-member':
      return t('join.noMember');
    case 'asking':
      return t('join.asking');
    case 'throttled':
    case 'retrying':
      return t('join.throttled');
    case 'wrong-passphrase':
      return t('join.wrongPassphrase');
    case 'admitted':
      return t('join.admitted');
  }
}

const STRENGTH_COLORS = ['red.500', 'orange.400', 'teal.400', 'green.500'];
const STRENGTH_LABELS = ['join.strengthWeak', 'join.strengthFair', 'join.strengthGood', 'join.strengthStrong'] as const;
/** The longest session name and device name, in characters, that the server accepts. */
const SESSION_MAX = 64;
const NAME_MAX = 32;

/** Whether a name is ready to send: something besides spaces, and no longer than `max`. */
const fits = (value: string, max: number) => {
  const chars = [...value.trim()].length;
  return chars > 0 && chars <= max;
};

/** An input for something typed exactly (a session name, a passphrase): no autocomplete, capitals or spell check. */
function ExactInput(props: InputProps) {
  return <Input autoComplete="off" autoCapitalize="off" spellCheck={false} {...props} />;
}

/** The dice button beside a field, which fills it with a generated value. */
function GenerateButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <IconButton aria-label={label} title={label} variant="outline" onClick={onClick}>
      <Dices />
    </IconButton>
  );
}

/** "Try again in 43 seconds", ticking each second, then "You can try again now." */
function Countdown({ until }: { until: number }) {
  const { t } = useTranslation();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.ceil((until - now) / 1000);
  return <span data-testid="join-countdown">{left > 0 ? t('join.tryAgainIn', { count: left }) : t('join.tryAgainNow')}</span>;
}

export interface JoinFormProps {
  invite: Invite | null;
  /** `askNew`: the join created a session whose name was typed, not generated: it may be a typo. */
  onJoined: (room: RoomClient, created: boolean, passphrase: string, askNew: boolean) => void;
  /** Choices that only matter when the join creates the session (shown unless invited). */
  createOptions?: ReactNode;
  /** Creating the session: keep items for devices that join later. */
  keepItems?: boolean;
  /** Creating the session: in format 3 (members admit new devices); false makes a legacy one. */
  format3?: boolean;
}

export function JoinForm({ invite, onJoined, createOptions, keepItems = false, format3 = true }: JoinFormProps) {
  const { t } = useTranslation();
  const [sessionId, setSessionId] = useState(invite?.sessionId ?? settings.lastSession());
  const [name, setName] = useState(settings.name());
  const [passphrase, setPassphrase] = useState(invite?.passphrase ?? '');
  const [show, setShow] = useState(false);
  // A generated name is meant to be new; a typed one that creates a session may be a mistake
  // ("Family" for "family", a typo): the session page then asks before going on.
  const generated = useRef<string | null>(null);
  const joinedHere = useCallback(
    (room: RoomClient, created: boolean, pass: string) => onJoined(room, created, pass, created && room.store.get().sessionId !== generated.current),
    [onJoined],
  );
  const { join, pending, error, attempt, applying, stopWaiting } = useJoin(joinedHere);

  // A session this browser keeps the key of (format v3) is rejoined without the passphrase.
  const rejoined = useRef(false);
  useEffect(() => {
    const last = settings.lastSession();
    if (rejoined.current || invite || !last) return;
    rejoined.current = true;
    void hasStoredRoom(last).then((kept) => {
      if (kept) void join(last, settings.name(), '');
    });
  }, [invite, join]);

  // An invitation with the passphrase and a remembered name has everything: join once.
  const autoJoined = useRef(false);
  useEffect(() => {
    if (autoJoined.current || !(invite?.passphrase || invite?.key)) return;
    const remembered = settings.name().trim();
    if (!remembered) return;
    autoJoined.current = true;
    void join(invite.sessionId.trim(), remembered, invite.passphrase ?? '', { invite: invite.token, key: invite.key });
  }, [invite, join]);

  const strength = estimateStrength(passphrase);
  const canSubmit = fits(sessionId, SESSION_MAX) && fits(name, NAME_MAX) && (passphrase.length > 0 || invite?.key !== undefined) && !pending;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (canSubmit) void join(sessionId.trim(), name.trim(), passphrase, { inbox: keepItems, invite: invite?.token, createV3: format3, key: invite?.key });
  };

  return (
    <form onSubmit={submit} aria-label={t('join.form')} noValidate>
      <Stack gap="5">
        <Field.Root required>
          <Field.Label>{t('join.sessionName')}</Field.Label>
          <HStack w="full" gap="2">
            <ExactInput
              name="session"
              value={sessionId}
              onChange={(e) => setSessionId(e.target.value)}
              placeholder={t('join.sessionPlaceholder')}
              maxLength={SESSION_MAX}
              readOnly={invite !== null}
            />
            {!invite && <GenerateButton label={t('join.generateSession')} onClick={() => {
                  const name = generateSessionName();
                  generated.current = name;
                  setSessionId(name);
                }} />}
          </HStack>
          <Field.HelperText>
            {invite ? t('join.fromInvitation') : t('join.sessionHelp')}
          </Field.HelperText>
        </Field.Root>

        <Field.Root required>
          <Field.Label>{t('join.yourName')}</Field.Label>
          <Input
            name="name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder={t('join.namePlaceholder')}
            autoComplete="nickname"
            maxLength={NAME_MAX}
            // Invited, the name is the one thing left to fill in.
            autoFocus={invite !== null && !name}
          />
        </Field.Root>

        <Field.Root required>
          <Field.Label>{t('join.passphrase')}</Field.Label>
          <HStack w="full" gap="2">
            <InputGroup
              flex="1"
              startElement={<KeyRound size={16} />}
              endElement={
                <IconButton
                  aria-label={show ? t('join.hidePassphrase') : t('join.showPassphrase')}
                  title={show ? t('join.hidePassphrase') : t('join.showPassphrase')}
                  variant="ghost"
                  size="xs"
                  me="-2"
                  onClick={() => setShow((s) => !s)}
                >
                  {show ? <EyeOff /> : <Eye />}
                </IconButton>
              }
            >
              <ExactInput name="passphrase" type={show ? 'text' : 'password'} value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
            </InputGroup>
            {!invite?.passphrase && (
              <GenerateButton
                label={t('join.generatePassphrase')}
                onClick={() => {
                  setPassphrase(generatePassphrase());
                  setShow(true);
                }}
              />
            )}
          </HStack>
          <Box w="full" aria-live="polite">
            <HStack gap="1" mt="1" aria-hidden="true">
              {[0, 1, 2, 3].map((i) => (
                <Box
                  key={i}
                  h="1"
                  flex="1"
                  borderRadius="full"
                  bg={passphrase && i <= strength.level ? STRENGTH_COLORS[strength.level] : 'border.muted'}
                  transition="background 0.2s"
                />
              ))}
            </HStack>
            <Text fontSize="xs" color="fg.muted" mt="1.5" data-testid="strength">
              {passphrase ? t('join.strength', { label: t(STRENGTH_LABELS[strength.level]) }) : t('join.samePassphrase')}
            </Text>
          </Box>
        </Field.Root>

        {!invite && createOptions}

        {pending && applying && (
          <HStack justify="space-between" align="start" gap="3">
            <Text role="status" data-testid="applying" data-state={applying.kind}>
              {applyingText(applying)}
            </Text>
            <Button variant="outline" size="sm" flexShrink={0} onClick={stopWaiting}>
              {t('join.stopWaiting')}
            </Button>
          </HStack>
        )}
        {error && (
          <Alert.Root key={attempt} status="error" borderRadius="l2" role="alert" data-testid="join-error">
            <Alert.Indicator />
            <Alert.Content>
              <Alert.Title>{error.title}</Alert.Title>
              <Alert.Description>
                {error.detail}
                {error.until !== undefined && (
                  <>
                    {' '}
                    <Countdown until={error.until} />
                  </>
                )}
              </Alert.Description>
            </Alert.Content>
          </Alert.Root>
        )}

        <Button type="submit" colorPalette="teal" size="lg" disabled={!canSubmit} loading={pending} loadingText={t('join.joining')}>
          {invite ? t('join.joinInvited', { session: invite.sessionId }) : t('join.joinSession')}
        </Button>
        <HStack gap="2" color="fg.muted" fontSize="xs" justify="center">
          <LockKeyhole size={14} aria-hidden="true" />
          <Text>{t('join.encryptedHere')}</Text>
        </HStack>
      </Stack>
    </form>
  );
}
