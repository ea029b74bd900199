/**
 * What the build's own Vite plugins share: a plugin that runs once the bundle is on disk and
 * is told where (`build.outDir`), and the sorted list of the files there.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

/** Every file under `dir`, sorted, so what is built from the list is reproducible. */
export function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

/**
 * A build-only plugin calling `run` with the output directory at `stage`: `writeBundle` once
 * the app and the copied public/ files are written, `closeBundle` after every plugin's
 * `writeBundle`.
 */
export function afterOutput(name: string, stage: 'writeBundle' | 'closeBundle', run: (outDir: string) => void | Promise<void>): Plugin {
  let outDir = '';
  const hook = () => run(outDir);
  return {
    name,
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    ...(stage === 'writeBundle' ? { writeBundle: hook } : { closeBundle: hook }),
  };
}
