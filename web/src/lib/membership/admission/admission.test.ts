/**
 * Admission on virtual time: applicants and members exchange `admit` messages through a relay
 * made of plain function calls, and time passes only when a test says so. Covers the protocol's
 * outcomes and timing rules: admission, a wrong passphrase seen on both sides, waiting for a
 * member, giving up a silent or departed member, throttling after failures, and hostile input.
 */
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, toBase64, toHex } from '../../crypto/format';
import { devicePublicKey, introMessage } from '../../crypto/v3/cards';
import { fromBase64Url, toBase64Url } from '../../crypto/v3/lv';
import { Admitter, type AdmitterAction, RUN_TIMEOUT_MS } from './admitter';
import { Applicant, type ApplicantAction, RETRY_DELAY_MS } from './applicant';
import type { BundleFields } from './messages';

const SESSION = 'quiet-harbor-17';
const prs = new Uint8Array(32).fill(7);
const wrongPrs = new Uint8Array(32).fill(8);
const seed = new Uint8Array(32).fill(3);
const deviceId = toBase64Url(ed25519.getPublicKey(seed));
const bundle: BundleFields = {
  roomKey: new Uint8Array(32).fill(0xaa),
  creatorPk: new Uint8Array(32).fill(0xbb),
  prs,
  cards: [],
  admitted: { device: deviceId, name: 'Phone', by: toBase64Url(new Uint8Array(32).fill(2)), at: 1, sig: 'x'.repeat(88) },
};

/** One applicant, some members, and the messages between them; the shell's part done inline. */
class Room {
  now = 1_000_000;
  readonly members = new Map<string, Admitter>();
  readonly failures: string[] = [];
  readonly statuses: string[] = [];
  admitted?: { by: string; roomKey: string };
  /** Messages in flight, delivered by `flush` (or dropped by a test). */
  queue: { from: string; to: string; step: number; data: unknown }[] = [];
  /** What members sent to devices that are not in this room (a test's attacker). */
  toOthers: { to: string; step: number; data: unknown }[] = [];
  /** Members that answer nothing (the shell is gone or hostile). */
  readonly silent = new Set<string>();
  applicant: Applicant;
  /** The applicant's key signs its intros; a test may swap in another key (a broken client). */
  signingSeed = seed;

  constructor(applicantPrs = prs) {
    this.applicant = new Applicant({ sessionId: SESSION, prs: applicantPrs, selfId: 'A', device: deviceId, name: 'Phone' });
  }

  addMember(id: string, memberPrs = prs) {
    this.members.set(id, new Admitter({ sessionId: SESSION, prs: memberPrs }, id));
  }

  fromApplicant(actions: ApplicantAction[]) {
    for (const a of actions) {
      if (a.type === 'send') this.queue.push({ from: 'A', to: a.to, step: a.step, data: a.data });
      else if (a.type === 'status') this.statuses.push(a.status.kind);
      else if (a.type === 'sign') {
        const sig = ed25519.sign(introMessage(SESSION, a.sid, fromBase64Url(deviceId), 'Phone'), this.signingSeed);
        this.fromApplicant(this.applicant.signed(a.sid, toBase64(sig), this.now));
      } else this.admitted = { by: a.by, roomKey: toHex(a.bundle.roomKey) };
    }
  }

  fromMember(id: string, actions: AdmitterAction[]) {
    for (const a of actions) {
      if (a.type === 'send') this.queue.push({ from: id, to: a.to, step: a.step, data: a.data });
      else if (a.type === 'failed') {
        this.failures.push(id);
        // The shell announces it; every other member counts it.
        for (const [other, m] of this.members) if (other !== id) m.failureAnnounced(this.now);
      } else {
        // The shell checks the intro's signature before it hands over the room secret.
        const member = this.members.get(id)!;
        const pk = devicePublicKey(a.intro.device)!;
        const good = ed25519.verify(fromBase64(a.intro.sig), introMessage(SESSION, a.sid, pk, a.intro.name), pk);
        if (good) this.fromMember(id, member.deliver(a.run, bundle));
        else member.refuse(a.run);
      }
    }
  }

  flush() {
    while (this.queue.length > 0) {
      const m = this.queue.shift()!;
      const member = this.members.get(m.to);
      if (m.to === 'A') this.fromApplicant(this.applicant.handle(m.from, m.step, m.data, this.now));
      else if (!member) this.toOthers.push(m);
      else if (!this.silent.has(m.to)) this.fromMember(m.to, member.handle(m.from, m.step, m.data, this.now));
    }
  }

  advance(ms: number) {
    this.now += ms;
    this.fromApplicant(this.applicant.tick(this.now));
    for (const [id, m] of this.members) this.fromMember(id, m.tick(this.now));
    this.flush();
  }
}

describe('admission', () => {
  it('admits an applicant with the right passphrase and hands it the room secret', () => {
    const room = new Room();
    room.addMember('B');
    room.fromApplicant(room.applicant.start(['B'], room.now));
    room.flush();
    expect(room.admitted).toEqual({ by: 'B', roomKey: toHex(bundle.roomKey) });
    expect(room.statuses).toEqual(['asking', 'admitted']);
    expect(room.failures).toEqual([]);
    expect(room.applicant.nextDeadline()).toBeUndefined();
    expect(room.members.get('B')!.nextDeadline()).toBeUndefined();
  });

  it('tells both sides of a wrong passphrase, once, and never asks another member with it', () => {
    const room = new Room(wrongPrs);
    room.addMember('B');
    room.addMember('C');
    room.fromApplicant(room.applicant.start(['B', 'C'], room.now));
    room.flush();
    expect(room.admitted).toBeUndefined();
    expect(room.statuses).toEqual(['asking', 'wrong-passphrase']);
    expect(room.failures).toEqual(['B']);
    expect(room.members.get('C')!.failureCount(room.now)).toBe(1);
    room.advance(10 * RUN_TIMEOUT_MS);
    expect(room.queue).toEqual([]);
    expect(room.failures).toEqual(['B']);
  });

  it('waits while no member is online and starts the moment one joins', () => {
    const room = new Room();
    room.fromApplicant(room.applicant.start([], room.now));
    expect(room.statuses).toEqual(['no-member']);
    expect(room.applicant.nextDeadline()).toBeUndefined();
    room.advance(3_600_000);
    expect(room.queue).toEqual([]);
    room.addMember('B');
    room.fromApplicant(room.applicant.memberJoined('B', room.now));
    room.flush();
    expect(room.admitted?.by).toBe('B');
  });

  it('does not admit an applicant whose intro is signed by another key, nor count it as a guess', () => {
    const room = new Room();
    room.signingSeed = new Uint8Array(32).fill(4);
    room.addMember('B');
    room.fromApplicant(room.applicant.start(['B'], room.now));
    room.flush();
    expect(room.admitted).toBeUndefined();
    expect(room.failures).toEqual([]);
    expect(room.members.get('B')!.nextDeadline()).toBeUndefined();
    room.advance(RUN_TIMEOUT_MS);
    expect(room.statuses.at(-1)).toBe('retrying');
  });

  it('gives up a silent member at the run timeout and asks the next', () => {
    const room = new Room();
    room.addMember('B');
    room.addMember('C');
    room.silent.add('B');
    room.fromApplicant(room.applicant.start(['B', 'C'], room.now));
    room.flush();
    room.advance(RUN_TIMEOUT_MS - 1);
    expect(room.admitted).toBeUndefined();
    room.advance(1);
    expect(room.admitted?.by).toBe('C');
    expect(room.failures).toEqual([]);
  });

  it('asks again after a pause when every member online failed to answer', () => {
    const room = new Room();
    room.addMember('B');
    room.silent.add('B');
    room.fromApplicant(room.applicant.start(['B'], room.now));
    room.flush();
    room.advance(RUN_TIMEOUT_MS);
    expect(room.statuses.at(-1)).toBe('retrying');
    room.silent.delete('B');
    room.advance(RETRY_DELAY_MS - 1);
    expect(room.admitted).toBeUndefined();
    room.advance(1);
    expect(room.admitted?.by).toBe('B');
  });

  it('asks another member at once when the one asked leaves', () => {
    const room = new Room();
    room.addMember('B');
    room.addMember('C');
    room.silent.add('B');
    room.fromApplicant(room.applicant.start(['B', 'C'], room.now));
    room.flush();
    room.fromApplicant(room.applicant.memberLeft('B', room.now));
    room.flush();
    expect(room.admitted?.by).toBe('C');
  });

  it('counts an applicant that goes silent after the answer as a failed guess', () => {
    const room = new Room();
    room.addMember('B');
    room.fromApplicant(room.applicant.start(['B'], room.now));
    // Deliver step 1 only; the applicant's step 3 is lost (it got its answer and went away).
    const step1 = room.queue.shift()!;
    room.fromMember('B', room.members.get('B')!.handle('A', step1.step, step1.data, room.now));
    expect(room.queue.map((m) => m.step)).toEqual([2]);
    room.queue = [];
    room.advance(RUN_TIMEOUT_MS);
    expect(room.failures).toEqual(['B']);
  });

  it('slows answers down exponentially after three failures in an hour', () => {
    const room = new Room();
    room.addMember('B');
    const b = room.members.get('B')!;
    for (let i = 0; i < 3; i++) b.failureAnnounced(room.now);
    const waits: number[] = [];
    for (let n = 3; n < 13; n++) {
      const attacker = `X${n}`;
      room.fromMember('B', b.handle(attacker, 1, { sid: btoa(String.fromCharCode(...new Uint8Array(16).fill(n))), Ya: stepOneYa() }, room.now));
      room.flush();
      const first = room.toOthers.shift()!;
      expect(first.step).toBe(0);
      const wait = (first.data as { waitMs: number }).waitMs;
      waits.push(wait);
      room.advance(wait - 1);
      expect(room.toOthers).toEqual([]);
      room.advance(1);
      expect(room.toOthers.shift()!.step).toBe(2);
      // The attacker never confirms: the run fails at its deadline, one more failure.
      room.advance(RUN_TIMEOUT_MS);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map((s) => s * 1000));
    expect(room.failures).toHaveLength(10);
    // An hour after the last failure the slate is clean.
    room.advance(3_600_000);
    expect(b.failureCount(room.now)).toBe(0);
  });

  it('refuses a repeated run id, an invalid point and runs past its limit', () => {
    const room = new Room();
    room.addMember('B');
    const b = room.members.get('B')!;
    const sid = btoa(String.fromCharCode(...new Uint8Array(16).fill(9)));
    expect(b.handle('X', 1, { sid, Ya: stepOneYa() }, room.now).map((a) => a.type)).toEqual(['send']);
    expect(b.handle('Y', 1, { sid, Ya: stepOneYa() }, room.now)).toEqual([]);
    const sid2 = btoa(String.fromCharCode(...new Uint8Array(16).fill(10)));
    expect(b.handle('Y', 1, { sid: sid2, Ya: btoa('\0'.repeat(32)) }, room.now)).toEqual([]);
    for (const [i, id] of ['P', 'Q', 'R', 'S'].entries()) {
      const s = btoa(String.fromCharCode(...new Uint8Array(16).fill(20 + i)));
      const out = b.handle(id, 1, { sid: s, Ya: stepOneYa() }, room.now);
      expect(out.length > 0).toBe(id !== 'S');
    }
  });

  it('survives hostile messages on both sides, giving up the member that sent one', () => {
    for (const data of [null, 'x', [], { Yb: 'x', Tb: 'y' }, { Yb: btoa('\0'.repeat(32)), Tb: btoa('\0'.repeat(32)) }]) {
      const room = new Room();
      room.addMember('B');
      room.fromApplicant(room.applicant.start(['B'], room.now));
      room.queue = [];
      room.fromApplicant(room.applicant.handle('B', 2, data, room.now));
      expect(room.statuses.at(-1)).toBe('retrying');
      expect(room.admitted).toBeUndefined();
    }
    const room = new Room();
    room.addMember('B');
    const b = room.members.get('B')!;
    for (const step of [-1, 0, 2, 3, 4, 7]) expect(b.handle('Z', step, { iv: 1 }, room.now)).toEqual([]);
    expect(b.nextDeadline()).toBeUndefined();
  });
});

/** A valid share for a member to answer (any point but the identity will do). */
function stepOneYa(): string {
  const room = new Room();
  room.fromApplicant(room.applicant.start(['B'], 0));
  return (room.queue[0].data as { Ya: string }).Ya;
}

