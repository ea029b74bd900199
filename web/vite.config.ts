import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { bundleManifest } from './build/bundle-manifest.ts';
import { gzipTwins } from './build/gzip-twins.ts';
import { serviceWorker } from './build/service-worker.ts';

// The Rust server listens on 3001 by default; `npm run dev` proxies the relay to it.
const SERVER = process.env.SHARETHINGS_SERVER ?? 'http://127.0.0.1:3001';
// Letters and digits only: the server caches `assets/<name>-<hash>.<ext>` for a year when the
// part after the last `-` is a hash, and base64's `-` inside a hash made that unknowable.
const HASH_CHARACTERS = 'base36';

export default defineConfig({
  plugins: [react(), serviceWorker(), gzipTwins(), bundleManifest()],
  base: '/',
  build: {
    // Committed and embedded into the server binary; emptied first so stale hashes vanish.
    outDir: fileURLToPath(new URL('../assets', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 700,
    modulePreload: { polyfill: false },
    rolldownOptions: { output: { hashCharacters: HASH_CHARACTERS } },
  },
  worker: { format: 'es', rolldownOptions: { output: { hashCharacters: HASH_CHARACTERS } } },
  server: {
    proxy: { '/socket.io': { target: SERVER, ws: true } },
  },
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
