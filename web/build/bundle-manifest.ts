/**
 * Vite plugin: once every file is written (the gzip twins included), write `bundle.json`, the
 * web app's canonical manifest (docs/cli.md, "Checking the served web app"): each file's
 * SHA-256, sorted bytewise by path, as `{"files":{"<path>":"<hex>",…}}` with no spaces.
 * `sharethings-cli verify` checks a served app against the copy built into its release, and
 * the page shows the manifest's own SHA-256 (the bundle hash) in Settings, under About.
 * Synchronous and listed after gzipTwins, so it sees their output.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'vite';
import { afterOutput, walk } from './output.ts';

const MANIFEST = 'bundle.json';

export function bundleManifest(): Plugin {
  return afterOutput('sharethings-bundle-manifest', 'closeBundle', (outDir) => {
    const paths = walk(outDir)
      .map((file) => relative(outDir, file).split(sep).join('/'))
      .filter((path) => path !== MANIFEST)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const files: Record<string, string> = {};
    for (const path of paths) files[path] = createHash('sha256').update(readFileSync(join(outDir, path))).digest('hex');
    writeFileSync(join(outDir, MANIFEST), JSON.stringify({ files }));
  });
}
