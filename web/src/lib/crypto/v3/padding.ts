/**
 * Format v3's padding (docs/protocol.md, "Sealed blobs"): sealed JSON (item metadata and control
 * messages) is padded with spaces to a multiple of 256 bytes, and an item's body with zeros to
 * `max(256, padme(size))` bytes, so the server sees neither exact sizes nor which control is
 * which. Padmé (Nikitin et al., PETS 2019) leaks O(log log L) bits of a length L and costs at
 * most 12% overhead. Pure values.
 */
import { CHUNK_SIZE } from '../format';
import type { Bytes } from './lv';

/** Sealed JSON and the smallest item body are padded to multiples of this. */
export const PAD_BLOCK = 256;
/** Items are at most this many bytes (as in v2): sizes and counts stay exact in a double. */
export const MAX_ITEM_BYTES = 2 ** 40;

/** The bit length of `n` minus one, i.e. floor(log2 n), exactly, for 1 ≤ n ≤ 2^53. */
function floorLog2(n: number): number {
  let e = Math.floor(Math.log2(n));
  while (2 ** e > n) e--;
  while (2 ** (e + 1) <= n) e++;
  return e;
}

/** Padmé: rounds `length` up so that only its top bits vary. */
export function padme(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('padme takes a non-negative integer');
  if (length < 2) return length;
  const e = floorLog2(length);
  const s = floorLog2(e) + 1;
  const step = 2 ** (e - s);
  return Math.ceil(length / step) * step;
}

/** The bytes an item of `size` bytes is sent as. */
export const paddedSize = (size: number): number => Math.max(PAD_BLOCK, padme(size));

/** Chunks of an item of `size` bytes: its padded body cut into 256 KiB pieces. */
export const chunkCountV3 = (size: number): number => Math.ceil(paddedSize(size) / CHUNK_SIZE);

/** `[start, end)` of chunk `index` within the padded body of an item of `size` bytes. */
export function paddedChunkRange(index: number, size: number): [number, number] {
  const padded = paddedSize(size);
  const start = index * CHUNK_SIZE;
  return [start, Math.min(start + CHUNK_SIZE, padded)];
}

const utf8 = new TextEncoder();

/** JSON text as UTF-8, followed by spaces up to the next multiple of 256 bytes. */
export function padJson(value: unknown): Bytes {
  const text = utf8.encode(JSON.stringify(value));
  const out = new Uint8Array(Math.max(PAD_BLOCK, Math.ceil(text.length / PAD_BLOCK) * PAD_BLOCK)).fill(0x20);
  out.set(text);
  return out;
}

/** The JSON value of padded sealed JSON; throws when it is not a whole number of blocks or not JSON. */
export function unpadJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0 || bytes.length % PAD_BLOCK !== 0) throw new Error('sealed JSON is not padded');
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}
