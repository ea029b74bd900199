/**
 * The v3 codec between devices of one room: what a receiver believes and what it drops. The
 * server's part (relaying with a `from`, replaying, rewriting) is played by the test, which is
 * what a misbehaving server can do.
 */
import { describe, expect, it } from 'vitest';
import { createWebCryptoBackend } from '../crypto/webcrypto';
import { makeCard, makeRecord } from '../crypto/v3/cards';
import { createDeviceKey, type DeviceKey, webCryptoVerifier } from '../crypto/v3/device-key';
import { deriveRoomKeys, newRoomKey, type RoomSecret } from '../crypto/v3/room-keys';
import { utf8Bytes } from '../crypto/v3/lv';
import { ReplayWindows } from './replay-windows';
import { Dropped, RoomCodec, type RoomCodecDeps } from './room-codec';
import { Roster } from './roster';

const backend = createWebCryptoBackend();
const id = (n: number) => n.toString(16).padStart(32, '0');

async function device(secret: RoomSecret, key?: DeviceKey, replay = new ReplayWindows()) {
  const keys = await deriveRoomKeys(backend, secret);
  const dev = key ?? (await createDeviceKey(true));
  let seq = 0;
  const deps: RoomCodecDeps = {
    keys: { backend, content: await backend.aeadKey(keys.contentKey), epoch: keys.epoch, verifier: webCryptoVerifier() },
    device: dev,
    nextSeq: async () => ++seq,
    replay,
    roster: new Roster(toB64Url(secret.creatorPk)),
    policy: { anyoneMayClear: false },
    changed: () => {},
  };
  return { codec: new RoomCodec(deps), deps, key: dev, epoch: keys.epoch };
}

const toB64Url = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function room() {
  const creatorKey = await createDeviceKey(true);
  const secret: RoomSecret = { sessionId: 'quiet-harbor', roomKey: newRoomKey(), creatorPk: creatorKey.publicKey };
  const a = await device(secret, creatorKey);
  const b = await device(secret);
  const c = await device(secret);
  return { secret, a, b, c };
}

type Dev = Awaited<ReturnType<typeof device>>;

async function hello(from: Dev, clientId: string, name: string) {
  const card = await makeCard(from.epoch, from.key, name, Date.now());
  return from.codec.sealContent({ kind: 'hello', clientId, card }, id(Math.floor(Math.random() * 1e9)), 0);
}

const drop = (p: Promise<unknown>) => p.then(() => 'opened', (e: unknown) => (e instanceof Dropped ? e.reason : String(e)));

describe('RoomCodec', () => {
  it('names a sender only from its verified hello, never from the relay', async () => {
    const { a, b } = await room();
    const item = await a.codec.sealContent({ kind: 'text', name: 'Text', mime: 'text/plain', size: 2, createdAt: 1 }, id(1), 1);
    const before = await b.codec.openContent('conn-a', item.content, item.data);
    expect(before).toMatchObject({ kind: 'item', device: a.key.id, name: undefined });
    const h = await hello(a, 'conn-a', 'Laptop');
    const opened = await b.codec.openContent('conn-a', h.content, h.data);
    expect(opened).toMatchObject({ kind: 'room', effect: { kind: 'member-online', clientId: 'conn-a', isNew: true } });
    const again = await a.codec.sealContent({ kind: 'text', name: 'Text', mime: 'text/plain', size: 2, createdAt: 1 }, id(2), 1);
    // A server that rewrites `from` changes nothing about who sent it.
    expect(await b.codec.openContent('conn-c', again.content, again.data)).toMatchObject({ device: a.key.id, name: 'Laptop' });
  });

  it('drops a hello relayed from another connection than it names (a forged from)', async () => {
    const { a, b } = await room();
    const h = await hello(a, 'conn-a', 'Laptop');
    expect(await drop(b.codec.openContent('conn-evil', h.content, h.data))).toBe('not-allowed');
    expect(b.deps.roster.deviceOf('conn-evil')).toBeUndefined();
  });

  it('drops a replayed content, also after a reload', async () => {
    const { secret, a, b } = await room();
    const clear = await a.codec.sealContent({ kind: 'clear', at: Date.now() }, id(3), 0);
    expect(await drop(b.codec.openContent('conn-a', clear.content, clear.data))).toBe('opened');
    expect(await drop(b.codec.openContent('conn-a', clear.content, clear.data))).toBe('replay');
    const reloaded = await device(secret, b.key, ReplayWindows.from(structuredClone(b.deps.replay.toStored())));
    expect(await drop(reloaded.codec.openContent('conn-a', clear.content, clear.data))).toBe('replay');
  });

  it('drops a blob claiming another sender, one moved or altered, and one from another room', async () => {
    const { a, b, c } = await room();
    const item = await c.codec.sealContent({ kind: 'text', name: 'T', mime: 'text/plain', size: 1, createdAt: 1 }, id(4), 1);
    expect(await drop(b.codec.openContent('x', { ...item.content, by: a.key.id }, item.data))).toBe('signature');
    expect(await drop(b.codec.openContent('x', { ...item.content, seq: item.content.seq + 1 }, item.data))).toBe('signature');
    expect(await drop(b.codec.openContent('x', { ...item.content, contentId: id(5) }, item.data))).toBe('signature');
    const tampered = item.data.slice();
    tampered[0] ^= 1;
    expect(await drop(b.codec.openContent('x', item.content, tampered))).toBe('signature');
    const other = await room();
    // Another room has another epoch: the signed associated data differs, so the signature fails first.
    expect(await drop(other.b.codec.openContent('x', item.content, item.data))).toBe('signature');
    expect(await drop(b.codec.openContent('x', { ...item.content, format: 2 }, item.data))).toBe('shape');
    expect(await drop(b.codec.openContent('x', undefined, item.data))).toBe('shape');
  });

  it('opens every kind of item, a folder too, without a sender name of its own', async () => {
    const { a, b } = await room();
    const folder = { kind: 'folder', name: 'trip', mime: 'inode/directory', size: 4096, files: 1003, createdAt: 1 };
    const sealed = await a.codec.sealContent(folder, id(30), 1);
    expect(await b.codec.openContent('conn-a', sealed.content, sealed.data)).toMatchObject({ kind: 'item', meta: folder, device: a.key.id });
  });

  it('opens a chunk only from the item’s sender, at its place', async () => {
    const { a, b, c } = await room();
    const chunk = await a.codec.sealChunk(id(6), 1, 3, utf8Bytes('body'));
    expect(new TextDecoder().decode(await b.codec.openChunk(chunk, a.key.id))).toBe('body');
    expect(await drop(b.codec.openChunk(chunk, c.key.id))).toBe('signature');
    expect(await drop(b.codec.openChunk({ ...chunk, chunkIndex: 2 }, a.key.id))).toBe('signature');
    expect(await drop(b.codec.openChunk({ ...chunk, chunkIndex: 3 }, a.key.id))).toBe('shape');
  });

  it('honours a cancel only from the item’s sender', async () => {
    const { a, b, c } = await room();
    const item = await a.codec.sealContent({ kind: 'file', name: 'f', mime: 'x', size: 9, createdAt: 1 }, id(7), 1);
    await b.codec.openContent('conn-a', item.content, item.data);
    const forged = await c.codec.sealContent({ kind: 'cancel', contentId: id(7), reason: 'cancelled' }, id(8), 0);
    expect(await drop(b.codec.openContent('conn-c', forged.content, forged.data))).toBe('not-allowed');
    const real = await a.codec.sealContent({ kind: 'cancel', contentId: id(7), reason: 'cancelled' }, id(9), 0);
    expect(await drop(b.codec.openContent('conn-a', real.content, real.data))).toBe('opened');
  });

  it('lets only the creator clear, until the creator allows everyone', async () => {
    const { a, b, c } = await room();
    const fromC = async () => {
      const clear = await c.codec.sealContent({ kind: 'clear', at: Date.now() }, id(Math.floor(Math.random() * 1e9)), 0);
      return drop(b.codec.openContent('conn-c', clear.content, clear.data));
    };
    expect(await fromC()).toBe('not-allowed');
    const fakePolicy = await c.codec.sealContent({ kind: 'policy', anyoneMayClear: true }, id(10), 0);
    expect(await drop(b.codec.openContent('conn-c', fakePolicy.content, fakePolicy.data))).toBe('not-allowed');
    const policy = await a.codec.sealContent({ kind: 'policy', anyoneMayClear: true }, id(11), 0);
    expect(await drop(b.codec.openContent('conn-a', policy.content, policy.data))).toBe('opened');
    expect(b.codec.policy.anyoneMayClear).toBe(true);
    expect(await fromC()).toBe('opened');
  });

  it('keeps the creator’s signed policy, which another member forwards unchanged to a newcomer', async () => {
    const { secret, a, b, c } = await room();
    await expect(b.codec.sealPolicy(true)).rejects.toThrow();
    const allow = await a.codec.sealPolicy(true);
    expect(a.codec.mayClear(c.key.id)).toBe(true);
    await b.codec.openContent('conn-a', allow.content, allow.data);
    // B holds what the creator signed; a device that comes while the creator is away gets it from B.
    const forwarded = b.codec.signedPolicy();
    expect(forwarded).toBeDefined();
    const newcomer = await device(secret);
    expect(newcomer.codec.mayClear(c.key.id)).toBe(false);
    expect(await newcomer.codec.openContent('conn-b', forwarded!.content, forwarded!.data)).toMatchObject({ effect: { kind: 'policy', policy: { anyoneMayClear: true } } });
    expect(newcomer.codec.mayClear(c.key.id)).toBe(true);
    // What B forwards is the creator's own blob: altered, it no longer checks out.
    const altered = await device(secret);
    expect(await drop(altered.codec.openContent('conn-b', { ...forwarded!.content, seq: forwarded!.content.seq + 1 }, forwarded!.data))).toBe('signature');
  });

  it('never lets an older policy undo a newer one, whatever order they come in', async () => {
    const { secret, a, c } = await room();
    const allow = await a.codec.sealPolicy(true);
    const deny = await a.codec.sealPolicy(false);
    expect(a.codec.signedPolicy()!.content.seq).toBe(deny.content.seq);
    const newcomer = await device(secret);
    await newcomer.codec.openContent('conn-a', deny.content, deny.data);
    // The older "anyone may clear", replayed or forwarded late, is authentic but stale.
    expect(await newcomer.codec.openContent('conn-x', allow.content, allow.data)).toMatchObject({ effect: { kind: 'none' } });
    expect(newcomer.codec.policy.anyoneMayClear).toBe(false);
    const clear = await c.codec.sealContent({ kind: 'clear', at: Date.now() }, id(20), 0);
    expect(await drop(newcomer.codec.openContent('conn-c', clear.content, clear.data))).toBe('not-allowed');
  });

  it('keeps the policy through a reload: the stored one still refuses and forwards', async () => {
    const { secret, a, b, c } = await room();
    const allow = await a.codec.sealPolicy(true);
    await b.codec.openContent('conn-a', allow.content, allow.data);
    const stored = structuredClone(b.deps.policy);
    const reloaded = await device(secret, b.key, ReplayWindows.from(structuredClone(b.deps.replay.toStored())));
    reloaded.deps.policy.anyoneMayClear = stored.anyoneMayClear;
    reloaded.deps.policy.signed = stored.signed;
    expect(reloaded.codec.mayClear(c.key.id)).toBe(true);
    expect(reloaded.codec.signedPolicy()!.content).toEqual(allow.content);
  });

  it('takes an admission record only from the member it names as admitter', async () => {
    const { a, b, c } = await room();
    const record = await makeRecord(a.epoch, a.key, c.key.id, 'Phone', Date.now());
    const relayedByC = await c.codec.sealContent({ kind: 'admitted', record }, id(12), 0);
    expect(await drop(b.codec.openContent('conn-c', relayedByC.content, relayedByC.data))).toBe('not-allowed');
    const byA = await a.codec.sealContent({ kind: 'admitted', record }, id(13), 0);
    expect(await b.codec.openContent('conn-a', byA.content, byA.data)).toMatchObject({ effect: { kind: 'admitted' } });
    expect(b.deps.roster.nameOf(c.key.id)).toBe('Phone');
  });
});
