/**
 * Vite plugin: once the app is written, builds the service worker (`src/sw/sw.ts`) into
 * `/sw.js` as one classic script (service workers as ES modules are not yet everywhere), with
 * the list of files to cache and a build id: the first 16 hex digits of the SHA-256 over every
 * file's path and bytes. So the worker's own bytes change exactly when the web client does,
 * which is what makes browsers install the new one; the build stays reproducible.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'vite';
import { afterOutput, walk } from './output.ts';

const ENTRY = fileURLToPath(new URL('../src/sw/sw.ts', import.meta.url));
const OUTPUT = 'sw.js';

export function serviceWorker(): Plugin {
  // writeBundle: the app and the copied public/ files are on disk; the gzip twins
  // (closeBundle) come after, so sw.js gets one too.
  return afterOutput('sharethings-service-worker', 'writeBundle', async (outDir) => {
    const shell = walk(outDir)
      .map((file) => relative(outDir, file).split(sep).join('/'))
      .filter((path) => !path.endsWith('.gz') && path !== OUTPUT);
    const digest = createHash('sha256');
    for (const path of shell) digest.update(path).update('\0').update(readFileSync(`${outDir}/${path}`)).update('\0');
    await build({
      configFile: false,
      publicDir: false,
      logLevel: 'warn',
      define: {
        __SHELL_FILES__: JSON.stringify(shell),
        __BUILD_ID__: JSON.stringify(digest.digest('hex').slice(0, 16)),
      },
      build: {
        outDir,
        emptyOutDir: false,
        target: 'es2022',
        minify: true,
        lib: { entry: ENTRY, formats: ['iife'], name: 'sharethingsServiceWorker', fileName: () => OUTPUT },
      },
    });
  });
}
