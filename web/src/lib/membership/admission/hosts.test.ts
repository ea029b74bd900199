/** The admission shells together, with real keys and signatures, messages passed by hand. */
import { describe, expect, it } from 'vitest';
import { derivePrs, deriveRoomKeys, newRoomKey, type RoomSecret } from '../../crypto/v3/room-keys';
import { createDeviceKey, webCryptoVerifier } from '../../crypto/v3/device-key';
import { makeCard } from '../../crypto/v3/cards';
import { createWebCryptoBackend } from '../../crypto/webcrypto';
import { Roster } from '../roster';
import { ApplicantHost } from './applicant-host';
import { MemberHost, type MemberNotice } from './member-host';

const backend = createWebCryptoBackend();
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
};

async function setup(applicantPassphrase: string) {
  const creator = await createDeviceKey(true);
  const prs = await derivePrs(backend, 'violet tractor sings', 'room', 1000);
  const secret: RoomSecret & { prs: Uint8Array } = { sessionId: 'room', roomKey: newRoomKey(), creatorPk: creator.publicKey, prs };
  const keys = await deriveRoomKeys(backend, secret);
  const roster = new Roster(creator.id);
  roster.addCard(await makeCard(keys.epoch, creator, 'Laptop', 1));
  const notices: MemberNotice[] = [];
  const announced: object[] = [];
  const phone = await createDeviceKey(true);
  const member = new MemberHost(
    {
      secret,
      device: creator,
      epoch: keys.epoch,
      verifier: webCryptoVerifier(),
      roster,
      // `applicant` is made below; messages reach it a task later, never before.
      sendAdmit: (_to, step, data) => queueMicrotask(() => applicant.admit('B', step, data)),
      announce: async (c) => void announced.push(c),
      notice: (n) => void notices.push(n),
    },
    'B',
  );
  const statuses: string[] = [];
  const applicant = new ApplicantHost({
    sessionId: 'room',
    prs: await derivePrs(backend, applicantPassphrase, 'room', 1000),
    selfId: 'A',
    device: phone,
    name: 'Phone',
    backend,
    verifier: webCryptoVerifier(),
    sendAdmit: (_to, step, data) => queueMicrotask(() => member.admit('A', step, data)),
    status: (s) => void statuses.push(s.kind),
  });
  applicant.start(['B']);
  return { secret, applicant, member, notices, announced, statuses, roster, phone };
}

describe('admission shells', () => {
  it('hand the room secret to an applicant with the passphrase, checked, and tell the room', async () => {
    const s = await setup('violet tractor sings');
    const outcome = await s.applicant.outcome;
    if (!outcome.ok) throw new Error(outcome.why);
    expect(outcome.admission.secret.roomKey).toEqual(s.secret.roomKey);
    expect(outcome.admission.record).toMatchObject({ device: s.phone.id, name: 'Phone' });
    expect(outcome.admission.cards.map((c) => c.name)).toEqual(['Laptop']);
    await until(() => s.announced.length === 1);
    expect(s.announced[0]).toMatchObject({ kind: 'admitted' });
    expect(s.notices).toMatchObject([{ kind: 'admitted' }]);
    expect(s.roster.nameOf(s.phone.id)).toBe('Phone');
    s.member.close();
  });

  it('tell both sides of a wrong passphrase, and the room', async () => {
    const s = await setup('violet tractor sang');
    expect(await s.applicant.outcome).toEqual({ ok: false, why: 'wrong-passphrase' });
    await until(() => s.announced.length === 1);
    expect(s.announced[0]).toMatchObject({ kind: 'admission-failed' });
    expect(s.notices).toEqual([{ kind: 'wrong-passphrase' }]);
    s.member.close();
  });
});
