/**
 * Format v3's sealed blobs (docs/protocol.md, "Sealed blobs"): each is AES-256-GCM under the
 * room's content key with associated data that binds it to the session's epoch, its item, its
 * sender's device and (for metadata) the sender's counter, and each carries its sender's
 * Ed25519 signature over that associated data and the ciphertext. A receiver checks the
 * signature before it opens anything, so a blob from a device that is not its claimed sender,
 * or one moved to another place, is dropped unread.
 */
import type { AeadKey, Bytes, CryptoBackend } from '../backend';
import { IV_BYTES } from '../format';
import type { DeviceKey, SignatureVerifier } from './device-key';
import { concat, lvCat } from './lv';
import { release } from '../release';

export const metaAad = (epoch: Uint8Array, contentId: string, byPk: Uint8Array, seq: number, totalChunks: number): Bytes =>
  lvCat('sharethings/v3/meta', epoch, contentId, byPk, seq, totalChunks);

export const chunkAad = (epoch: Uint8Array, contentId: string, byPk: Uint8Array, chunkIndex: number, totalChunks: number): Bytes =>
  lvCat('sharethings/v3/chunk', epoch, contentId, byPk, chunkIndex, totalChunks);

/** What a sender signs: the associated data and the IV and ciphertext, each hashed. */
export async function signedMessage(backend: CryptoBackend, aad: Bytes, iv: Uint8Array, ciphertext: Uint8Array): Promise<Bytes> {
  const blob = concat(iv, ciphertext);
  const [aadHash, blobHash] = await Promise.all([backend.sha256(aad), backend.sha256(blob)]);
  release(blob);
  return lvCat('sharethings/v3/sig', aadHash, blobHash);
}

export interface SealedBlob {
  iv: Bytes;
  ciphertext: Bytes;
  signature: Bytes;
}

/** The keys and identity one device seals and opens a session's blobs with. */
export interface BlobKeys {
  backend: CryptoBackend;
  content: AeadKey;
  epoch: Bytes;
  verifier: SignatureVerifier;
}

export async function sealBlob(keys: BlobKeys, device: DeviceKey, plaintext: Bytes, aad: Bytes, iv?: Bytes): Promise<SealedBlob> {
  const nonce = iv ?? crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await keys.content.seal(nonce, plaintext, aad);
  const signature = await device.sign(await signedMessage(keys.backend, aad, nonce, ciphertext));
  return { iv: nonce, ciphertext, signature };
}

/** Why a blob was dropped: its signature is not its claimed sender's, or it does not open. */
export class BlobRejected extends Error {
  override name = 'BlobRejected';
  constructor(readonly reason: 'signature' | 'aead') {
    super(reason === 'signature' ? 'the signature is not the sender’s' : 'the blob does not authenticate');
  }
}

/** Checks the sender's signature, then opens; throws `BlobRejected` on either failure. */
export async function openBlob(keys: BlobKeys, senderPk: Uint8Array, blob: SealedBlob, aad: Bytes): Promise<Bytes> {
  const message = await signedMessage(keys.backend, aad, blob.iv, blob.ciphertext);
  if (!(await keys.verifier.verify(senderPk, message, blob.signature))) throw new BlobRejected('signature');
  try {
    return await keys.content.open(blob.iv, blob.ciphertext, aad);
  } catch {
    throw new BlobRejected('aead');
  }
}
