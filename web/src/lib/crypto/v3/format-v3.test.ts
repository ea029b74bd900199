/**
 * Format v3 against tests/vectors/format-v3.json, written by an independent implementation
 * (tests/vectors/generate_v3.py: Python `cryptography` and libsodium), on both crypto paths:
 * Web Crypto (AES-GCM, HKDF, HMAC, PBKDF2, SHA-256 and Ed25519) and pure JS (@noble). Every
 * entry the web client uses is checked: encodings, the key schedule, the join proof, cards and
 * records, a whole admission run, sealed items, chunks and controls, padding, the safety code
 * and invite keys.
 */
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import type { CryptoBackend } from '../backend';
import { fromBase64, fromHex, toBase64, toHex } from '../format';
import { createPureJsBackend } from '../purejs';
import { createWebCryptoBackend } from '../webcrypto';
import { applicantFinish, applicantStart, applicantAad, bundleAad, memberRespond, openAdmit } from './admission-crypto';
import { cardMessage, introMessage, introVerifies, makeCard, makeRecord, recordMessage, signIntro, verifiedCard, verifiedRecord } from './cards';
import { CpaceError } from './cpace';
import { type DeviceKey, deviceKeyFrom, nobleVerifier, type SignatureVerifier, webCryptoVerifier } from './device-key';
import { fromBase64Url, lvCat, toBase64Url } from './lv';
import { parseBundle, parseIntro } from '../../membership/admission/messages';
import { chunkCountV3, MAX_ITEM_BYTES, padJson, padme, paddedChunkRange, paddedSize, PAD_BLOCK } from './padding';
import { decodeSecretKey, deriveRoomKeys, derivePrs, encodeSecretKey, epochOf, inboxMessage, joinProof, type RoomSecret } from './room-keys';
import { safetyCode } from './safety-code';
import { type BlobKeys, chunkAad, metaAad, openBlob, sealBlob, signedMessage } from './sealing';

/* eslint-disable @typescript-eslint/no-explicit-any -- the vectors file is read as plain JSON */
const v: any = JSON.parse(readFileSync(new URL('../../../../../tests/vectors/format-v3.json', import.meta.url), 'utf8'));
/* eslint-enable @typescript-eslint/no-explicit-any */

const hex = (s: string) => fromHex(s);

/** A vector device's key on one path: Web Crypto imports the seed (as JWK), noble signs with it. */
async function vectorDevice(path: 'webcrypto' | 'noble', seedHex: string): Promise<DeviceKey> {
  const seed = hex(seedHex);
  const publicKey = new Uint8Array(ed25519.getPublicKey(seed));
  if (path === 'noble') return deviceKeyFrom({ kind: 'noble', publicKey, seed });
  const jwk = { kty: 'OKP', crv: 'Ed25519', d: toBase64Url(seed), x: toBase64Url(publicKey) };
  const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
  return deviceKeyFrom({ kind: 'webcrypto', publicKey, privateKey });
}

const deviceSeed = (id: string): string => v.devices.find((d: { id: string }) => d.id === id).seed;

const secret: RoomSecret = {
  sessionId: v.room.sessionId,
  roomKey: hex(v.room.roomKey),
  creatorPk: hex(v.room.creatorPk),
  prs: hex(v.room.prs),
};

describe('format v3 encodings', () => {
  it('encodes lv fields and decimal integers', () => {
    for (const c of v.lv) expect(toHex(lvCat(...c.parts.map(hex)))).toBe(c.encoded);
    expect(toHex(lvCat(v.decimal.value))).toBe(v.decimal.lv);
    expect(toHex(lvCat(...v.cpaceDraft.lvCat.parts.map(hex)))).toBe(v.cpaceDraft.lvCat.encoded);
  });

  it('pads with Padmé, cuts padded items into chunks and refuses sizes past the limit', () => {
    expect(PAD_BLOCK).toBe(v.padding.padBlock);
    expect(MAX_ITEM_BYTES).toBe(v.padding.maxItemBytes);
    for (const c of v.padding.padme) expect(padme(c.size)).toBe(c.padded);
    for (const c of v.padding.items) {
      expect(c.accepted).toBe(c.size <= MAX_ITEM_BYTES);
      expect(paddedSize(c.size)).toBe(c.padded);
      expect(chunkCountV3(c.size)).toBe(c.totalChunks);
      const [start, end] = paddedChunkRange(c.totalChunks - 1, c.size);
      expect(end - start).toBe(c.lastChunkBytes);
    }
    // A JSON text of `n` bytes: a digit, or a string of n - 2 letters in quotes.
    for (const c of v.padding.json) expect(padJson(c.json === 1 ? 0 : 'x'.repeat(c.json - 2)).length).toBe(c.padded);
  });
});

const paths: { name: string; backend: CryptoBackend; signer: 'webcrypto' | 'noble'; verifier: SignatureVerifier }[] = [
  { name: 'webcrypto', backend: createWebCryptoBackend(), signer: 'webcrypto', verifier: webCryptoVerifier() },
  { name: 'purejs', backend: createPureJsBackend(), signer: 'noble', verifier: nobleVerifier },
];

describe.each(paths)('format v3 on $name', ({ backend, signer, verifier }) => {
  it('derives the device ids, the epoch, the NFC prs and the three keys', async () => {
    for (const d of v.devices) expect(toBase64Url((await vectorDevice(signer, d.seed)).publicKey)).toBe(d.id);
    expect(toHex(await epochOf(backend, secret.creatorPk))).toBe(v.room.epoch);
    // The vector's passphrase is typed in NFD; the PRS is of its NFC form.
    expect(v.room.passphrase).not.toBe(v.room.passphraseNfc);
    expect(toHex(await derivePrs(backend, v.room.passphrase, v.room.sessionId, v.room.iterations))).toBe(v.room.prs);
    const keys = await deriveRoomKeys(backend, secret);
    expect(toHex(keys.contentKey)).toBe(v.room.keys.content.key);
    expect(toHex(keys.accessKey)).toBe(v.room.keys.access.key);
    expect(toHex(keys.safetyKey)).toBe(v.room.keys.safety.key);
  });

  it('answers the join challenge', async () => {
    const keys = await deriveRoomKeys(backend, secret);
    expect(toBase64(keys.accessKey)).toBe(v.join.access);
    expect(toBase64(await joinProof(backend, keys.accessKey, v.room.sessionId, fromBase64(v.join.nonce)))).toBe(v.join.proof);
  });

  it("signs the creator's requests to the server's inbox", async () => {
    const creator = await vectorDevice(signer, v.room.creatorSeed);
    expect(toBase64(creator.publicKey)).toBe(v.inbox.ownerPk);
    for (const c of v.inbox.actions) {
      const message = inboxMessage(v.room.sessionId, fromBase64(v.inbox.nonce), c.action);
      expect(toHex(message)).toBe(c.message);
      expect(toBase64(await creator.sign(message))).toBe(c.sig);
    }
  });

  it('signs and verifies cards and admission records', async () => {
    const epoch = hex(v.room.epoch);
    for (const c of v.cards) {
      const device = await vectorDevice(signer, deviceSeed(c.json.device));
      expect(toHex(cardMessage(epoch, device.publicKey, c.json.name, c.json.at))).toBe(c.signedMessage);
      expect(await makeCard(epoch, device, c.json.name, c.json.at)).toEqual(c.json);
      expect(await verifiedCard(verifier, epoch, c.json)).toEqual(c.json);
      expect(await verifiedCard(verifier, epoch, { ...c.json, name: `${c.json.name}!` })).toBeUndefined();
      expect(await verifiedCard(verifier, hex('00'.repeat(16)), c.json)).toBeUndefined();
    }
    const step3 = v.admission.steps.find((st: { step: number }) => st.step === 3);
    const intro = JSON.parse(step3.plaintext);
    const applicant = await vectorDevice(signer, deviceSeed(intro.device));
    const sid = hex(v.admission.sid);
    expect(toHex(introMessage(v.room.sessionId, sid, applicant.publicKey, intro.name))).toBe(step3.signedMessage);
    expect(await signIntro(applicant, v.room.sessionId, sid, intro.name)).toBe(intro.sig);
    expect(await introVerifies(verifier, v.room.sessionId, sid, intro)).toBe(true);
    expect(await introVerifies(verifier, v.room.sessionId, new Uint8Array(16), intro)).toBe(false);
    for (const r of v.records) {
      const by = await vectorDevice(signer, deviceSeed(r.json.by));
      expect(toHex(recordMessage(epoch, fromBase64Url(r.json.device), r.json.name, by.publicKey, r.json.at))).toBe(r.signedMessage);
      expect(await makeRecord(epoch, by, r.json.device, r.json.name, r.json.at)).toEqual(r.json);
      expect(await verifiedRecord(verifier, epoch, r.json)).toEqual(r.json);
      expect(await verifiedRecord(verifier, epoch, { ...r.json, by: r.json.device })).toBeUndefined();
    }
  });

  it('seals, signs and opens items and their chunks exactly as the vectors', async () => {
    const keys = await deriveRoomKeys(backend, secret);
    const blobKeys: BlobKeys = { backend, content: await backend.aeadKey(keys.contentKey), epoch: keys.epoch, verifier };
    for (const item of v.items) {
      const env = item.content.envelope;
      const sender = await vectorDevice(signer, deviceSeed(env.by));
      const aad = metaAad(keys.epoch, env.contentId, sender.publicKey, env.seq, env.totalChunks);
      expect(toHex(aad)).toBe(item.content.aad);
      expect(toHex(padJson(item.meta))).toBe(item.content.plaintext);
      const sealed = await sealBlob(blobKeys, sender, hex(item.content.plaintext), aad, fromBase64(env.iv));
      expect(toHex(sealed.ciphertext)).toBe(item.content.data);
      expect(toHex(await signedMessage(backend, aad, sealed.iv, sealed.ciphertext))).toBe(item.content.signedMessage);
      expect(toBase64(sealed.signature)).toBe(env.sig);
      expect(chunkCountV3(item.size)).toBe(item.totalChunks);
      for (const c of item.chunks) {
        const caad = chunkAad(keys.epoch, c.envelope.contentId, sender.publicKey, c.envelope.chunkIndex, c.envelope.totalChunks);
        expect(toHex(caad)).toBe(c.aad);
        const blob = { iv: fromBase64(c.envelope.iv), ciphertext: hex(c.encryptedData), signature: fromBase64(c.envelope.sig) };
        expect(toHex(await openBlob(blobKeys, sender.publicKey, blob, caad))).toBe(c.plaintext);
        const [start, end] = paddedChunkRange(c.envelope.chunkIndex, item.size);
        expect(c.plaintext.length / 2).toBe(end - start);
        const resealed = await sealBlob(blobKeys, sender, hex(c.plaintext), caad, blob.iv);
        expect(toBase64(resealed.signature)).toBe(c.envelope.sig);
      }
    }
  });

  it('opens every control message, and refuses one from another sender or place', async () => {
    const keys = await deriveRoomKeys(backend, secret);
    const blobKeys: BlobKeys = { backend, content: await backend.aeadKey(keys.contentKey), epoch: keys.epoch, verifier };
    const kinds: string[] = [];
    for (const c of v.controls) {
      const env = c.envelope;
      const by = fromBase64Url(env.by);
      const aad = metaAad(keys.epoch, env.contentId, by, env.seq, env.totalChunks);
      expect(toHex(aad)).toBe(c.aad);
      expect(toHex(padJson(c.message))).toBe(c.plaintext);
      const blob = { iv: fromBase64(env.iv), ciphertext: hex(c.data), signature: fromBase64(env.sig) };
      expect(toHex(await openBlob(blobKeys, by, blob, aad))).toBe(c.plaintext);
      const other = fromBase64Url(v.devices[0].id === env.by ? v.devices[1].id : v.devices[0].id);
      await expect(openBlob(blobKeys, other, blob, metaAad(keys.epoch, env.contentId, other, env.seq, env.totalChunks))).rejects.toThrow('signature');
      await expect(openBlob(blobKeys, by, blob, metaAad(keys.epoch, env.contentId, by, env.seq + 1, env.totalChunks))).rejects.toThrow('signature');
      kinds.push(c.kind);
    }
    expect(kinds).toEqual(['hello', 'roster', 'admitted', 'admission-failed', 'resend', 'progress', 'cancel', 'clear', 'policy', 'file']);
  });

  it('computes the safety code', async () => {
    const keys = await deriveRoomKeys(backend, secret);
    expect(await safetyCode(backend, keys.safetyKey, v.safety.devices.map(fromBase64Url))).toBe(v.safety.code);
  });
});

describe('format v3 admission run', () => {
  const a = v.admission;
  const fixed = (hexScalar: string, sid?: string) => {
    const queue = [...(sid ? [hex(sid)] : []), hex(hexScalar)];
    return (n: number) => {
      const next = queue.shift();
      if (!next || next.length !== n) throw new Error('unexpected draw');
      return next;
    };
  };

  it('reproduces the CPace run, both tags and the admit key, and opens steps 3 and 4', () => {
    const run = applicantStart(hex(a.PRS), v.room.sessionId, a.ADa, fixed(a.ya, a.sid));
    expect(toHex(run.Ya)).toBe(a.Ya);
    const step1 = a.steps.find((s: { step: number }) => s.step === 1).data;
    expect(step1).toEqual({ sid: toBase64(hex(a.sid)), Ya: toBase64(run.Ya) });
    const member = memberRespond(hex(a.PRS), v.room.sessionId, hex(a.sid), run.Ya, a.ADa, a.ADb, fixed(a.yb));
    expect(toHex(member.Yb)).toBe(a.Yb);
    expect(toHex(member.Tb)).toBe(a.Tb);
    expect(toHex(member.admitKey)).toBe(a.admitKey);
    const done = applicantFinish(run, a.ADb, member.Yb, member.Tb);
    expect(done.memberConfirmed).toBe(true);
    expect(toHex(done.Ta)).toBe(a.Ta);
    expect(toHex(done.admitKey)).toBe(a.admitKey);
    expect(member.confirms(done.Ta)).toBe(true);

    const step3 = a.steps.find((s: { step: number }) => s.step === 3);
    expect(toHex(applicantAad(v.room.sessionId, hex(a.sid)))).toBe(step3.aad);
    const opened3 = openAdmit(done.admitKey, { iv: fromBase64(step3.data.iv), sealed: fromBase64(step3.data.sealed) }, hex(step3.aad));
    expect(new TextDecoder().decode(opened3)).toBe(step3.plaintext);
    expect(parseIntro(JSON.parse(step3.plaintext))).toEqual(JSON.parse(step3.plaintext));
    const step4 = a.steps.find((s: { step: number }) => s.step === 4);
    expect(toHex(bundleAad(v.room.sessionId, hex(a.sid)))).toBe(step4.aad);
    const opened4 = openAdmit(done.admitKey, { iv: fromBase64(step4.data.iv), sealed: fromBase64(step4.data.sealed) }, hex(step4.aad));
    expect(new TextDecoder().decode(opened4)).toBe(step4.plaintext);
    expect(parseBundle(JSON.parse(step4.plaintext))).toBeDefined();
    expect(() => openAdmit(done.admitKey, { iv: fromBase64(step4.data.iv), sealed: fromBase64(step4.data.sealed) }, hex(step3.aad))).toThrow();
  });

  it('tells the applicant a wrong passphrase at step 2, and the member at step 3', () => {
    const wrong = a.wrongPassphrase;
    const run = applicantStart(hex(a.PRS), v.room.sessionId, a.ADa, fixed(a.ya, a.sid));
    const member = memberRespond(hex(wrong.PRS), v.room.sessionId, hex(a.sid), run.Ya, a.ADa, a.ADb, fixed(a.yb));
    expect(toHex(member.Yb)).toBe(wrong.Yb);
    expect(toHex(member.Tb)).toBe(wrong.Tb);
    const done = applicantFinish(run, a.ADb, member.Yb, member.Tb);
    expect(done.memberConfirmed).toBe(wrong.applicantAccepts);
    expect(member.confirms(done.Ta)).toBe(false);
  });

  it('aborts on the invalid points of the draft', () => {
    const run = applicantStart(hex(a.PRS), v.room.sessionId, a.ADa, fixed(a.ya, a.sid));
    for (const bad of v.cpaceDraft.scalarMult.invalid) {
      expect(() => applicantFinish(run, a.ADb, hex(bad), new Uint8Array(32))).toThrow(CpaceError);
      expect(() => memberRespond(hex(a.PRS), v.room.sessionId, hex(a.sid), hex(bad), a.ADa, a.ADb)).toThrow(CpaceError);
    }
  });
});

describe('format v3 invites', () => {
  it('encodes and decodes the room secret of an invite link', () => {
    for (const c of [v.invite.withoutPrs, v.invite.withPrs]) {
      const key = new URL(c.link).hash.split('&k=')[1];
      const decoded = decodeSecretKey(v.room.sessionId, key);
      expect(toHex(decoded.roomKey) + toHex(decoded.creatorPk) + (decoded.prs ? toHex(decoded.prs) : '')).toBe(c.secret);
      expect(encodeSecretKey(decoded)).toBe(key);
    }
    expect(() => decodeSecretKey('s', toBase64Url(new Uint8Array(65)))).toThrow();
    expect(encodeSecretKey(secret)).toBe(toBase64Url(new Uint8Array([...secret.roomKey, ...secret.creatorPk, ...(secret.prs ?? [])])));
  });
});
