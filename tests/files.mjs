// Test files and their hashes, for every suite (only node's own modules, so that a suite
// with no browser and one with no socket.io-client can both import it).
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A file of `size` random bytes at `dir/name`, written in 16 MiB slices (never whole in
 * memory); returns its path, SHA-256 and size.
 */
export function randomFile(dir, name, size) {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const h = createHash('sha256');
  for (let left = size; left > 0; ) {
    const part = randomBytes(Math.min(left, 16 * 1024 * 1024));
    h.update(part);
    writeSync(fd, part);
    left -= part.length;
  }
  closeSync(fd);
  return { path, hash: h.digest('hex'), size };
}

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
export const sha256File = (path) => sha256(readFileSync(path));

/** Bytes in the files directly in `dir` (a receiver's partial file among them). */
export const bytesIn = (dir) => readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
