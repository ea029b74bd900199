/**
 * Handing a buffer's memory back at once. Every received chunk passes through a few buffers of
 * its size (the socket's ciphertext, the copy a signature check hashes, the plaintext the worker
 * writes), each garbage as soon as the chunk is written. Detaching one (`transfer(0)`, ES2024)
 * frees its bytes now instead of whenever the collector comes. Receiving 2 GiB to disk, the
 * browser grew at its peak by 590 MB in Firefox and 200 MB in WebKitGTK without this, and by
 * 48-73 MB in both with it in all but one run (docs/web.md).
 *
 * Not in Blink (Chromium, Edge, Samsung Internet: "Chrome/" in the user agent). There a buffer
 * the browser made, a socket's or a message's, keeps its bytes until its wrapper is collected,
 * and detaching it only takes them out of the collector's count: the same 2 GiB grew Chromium
 * by 1.6 GB with this and by 137 MB without.
 */
const detachFrees =
  typeof ArrayBuffer !== 'undefined' &&
  'transfer' in ArrayBuffer.prototype &&
  !(typeof navigator !== 'undefined' && /Chrome\//.test(navigator.userAgent));

/** Frees the bytes under `bytes` now where that helps. Its buffer must be its own: every view of it goes empty. */
export function release(bytes: ArrayBuffer | Uint8Array): void {
  const buffer = bytes instanceof ArrayBuffer ? bytes : bytes.buffer;
  if (detachFrees && buffer instanceof ArrayBuffer && !buffer.detached) buffer.transfer(0);
}
