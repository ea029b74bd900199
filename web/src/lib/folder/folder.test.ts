/** A tree packed as a sender does, checked and unpacked as a receiver does: into a ZIP another reader opens, byte for byte. */
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readFolderPlan } from './manifest';
import { packFolder, treesFromPicker, type Tree } from './pack';
import { zipFile } from './unpack';

const MTIME = Date.UTC(2024, 4, 17, 10, 30, 42);

function tree(): Tree {
  const files = Array.from({ length: 300 }, (_, i) => ({ path: `d${i % 7}/sub/f${i}.txt`, file: new File([`file ${i}\n`.repeat(i % 5)], `f${i}.txt`, { lastModified: MTIME }) }));
  const big = new Uint8Array(600_000).map((_, i) => (i * 31) % 251);
  files.push({ path: 'big.bin', file: new File([big], 'big.bin', { lastModified: MTIME }) });
  return { name: 'trip', files, emptyDirs: [{ path: 'empty/inner', mtime: MTIME }], skipped: [] };
}

/** The DOS date and time a ZIP entry's local header holds, decoded (local time, 2 s steps). */
function dosTime(zip: Uint8Array, name: string): Date {
  const wanted = new TextEncoder().encode(name);
  const view = new DataView(zip.buffer, zip.byteOffset);
  for (let at = 0; at + 30 < zip.length; at++) {
    if (view.getUint32(at, true) !== 0x04034b50 || view.getUint16(at + 26, true) !== wanted.length) continue;
    if (!zip.subarray(at + 30, at + 30 + wanted.length).every((b, i) => b === wanted[i])) continue;
    const time = view.getUint16(at + 10, true);
    const date = view.getUint16(at + 12, true);
    return new Date((date >> 9) + 1980, ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2);
  }
  throw new Error(`${name} is not in the ZIP`);
}

describe('folders', () => {
  it('packs a tree that a receiver accepts, and its ZIP holds the same files, bytes and times', async () => {
    const t = tree();
    const packed = packFolder(t);
    expect(packed.entries).toBe(302);
    const plan = await readFolderPlan(packed.body, packed.entries);
    expect(plan.files).toHaveLength(301);
    expect(plan.dirs).toEqual([{ path: 'empty/inner', mtime: MTIME }]);

    const zip = new Uint8Array(await (await zipFile(packed.body, plan, packed.name)).arrayBuffer());
    const out = unzipSync(zip);
    for (const f of t.files) expect(Buffer.compare(out[`trip/${f.path}`], new Uint8Array(await f.file.arrayBuffer())), f.path).toBe(0);
    expect(Object.keys(out)).toContain('trip/empty/inner/');
    expect(Object.keys(out).filter((k) => !k.endsWith('/'))).toHaveLength(301);
    expect(dosTime(zip, 'trip/big.bin').getTime()).toBe(MTIME - (MTIME % 2000));
  });

  it('leaves out names a receiver would refuse, and says which', () => {
    const f = (path: string) => ({ path, file: new File(['x'], path) });
    const packed = packFolder({ name: 'x', files: [f('ok.txt'), f('aux.txt'), f('bad:name'), f('trailing.')], emptyDirs: [{ path: 'con', mtime: 0 }], skipped: ['link: not a file or a folder'] });
    expect(packed.entries).toBe(1);
    expect(packed.skipped).toHaveLength(5);
  });

  it('takes a folder picker\'s relative paths, one tree per top folder', () => {
    const pick = (rel: string) => {
      const file = new File(['x'], rel.split('/').pop()!);
      Object.defineProperty(file, 'webkitRelativePath', { value: rel });
      return file;
    };
    const trees = treesFromPicker([pick('trip/a.jpg'), pick('trip/day 2/b.jpg')]);
    expect(trees).toHaveLength(1);
    expect(trees[0].name).toBe('trip');
    expect(trees[0].files.map((f) => f.path)).toEqual(['a.jpg', 'day 2/b.jpg']);
  });
});
