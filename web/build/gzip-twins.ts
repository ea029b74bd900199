/**
 * Vite plugin: after the bundle is written, add a `.gz` twin beside every compressible file,
 * so the server can send pre-compressed bytes. Deterministic: zlib at level 9 with a fixed
 * gzip header (no name, mtime 0), so rebuilding gives byte-identical files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { afterOutput, walk } from './output.ts';

const COMPRESSIBLE = /\.(html|js|mjs|css|svg|json|map|txt|webmanifest)$/;

export function gzipTwins(): Plugin {
  return afterOutput('sharethings-gzip-twins', 'closeBundle', (outDir) => {
    for (const file of walk(outDir)) {
      if (!COMPRESSIBLE.test(file)) continue;
      // Node's gzip header has mtime 0 and no file name, so output depends only on input.
      const gz = gzipSync(readFileSync(file), { level: constants.Z_BEST_COMPRESSION, memLevel: 9 });
      writeFileSync(`${file}.gz`, gz);
    }
  });
}
