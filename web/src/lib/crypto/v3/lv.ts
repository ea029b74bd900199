/**
 * Format v3's byte encodings (docs/protocol.md, "Format v3", Notation): `lv` prefixes a string
 * with its length as unsigned LEB128 (CPace's `prepend_len`), `lvCat` concatenates such
 * fields. Every label, associated data and signed message of format v3 is an `lvCat`, so no two
 * different field lists can give the same bytes. Pure values, no crypto.
 */
export type Bytes = Uint8Array<ArrayBuffer>;

/** A field of `lvCat`: bytes as they are, strings as UTF-8, integers as their decimal digits. */
export type Field = Uint8Array | string | number;

const utf8 = new TextEncoder();

export function leb128(value: number): Bytes {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('leb128 takes a non-negative integer');
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    out.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return new Uint8Array(out);
}

function fieldBytes(field: Field): Uint8Array {
  if (typeof field === 'string') return utf8.encode(field);
  if (typeof field === 'number') {
    if (!Number.isSafeInteger(field) || field < 0) throw new RangeError('lv fields take non-negative integers');
    return utf8.encode(String(field));
  }
  return field;
}

export function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const lv = (field: Field): Bytes => {
  const bytes = fieldBytes(field);
  return concat(leb128(bytes.length), bytes);
};

export const lvCat = (...fields: Field[]): Bytes => concat(...fields.map(lv));

export const utf8Bytes = (text: string): Bytes => utf8.encode(text);

export function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes base64url without padding; throws on any other alphabet or a impossible length. */
export function fromBase64Url(text: string): Bytes {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error('not base64url');
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Constant-time equality of two byte strings (the length is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Bytewise (lexicographic) order, shorter first on a common prefix. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
