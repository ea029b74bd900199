/** Every rule of docs/protocol.md's "Folders" a receiver checks, against hostile manifests. */
import { describe, expect, it } from 'vitest';
import { FolderRefusal, LENGTH_BYTES, manifestLength, MAX_ENTRIES, MAX_MANIFEST_BYTES, planFolder, readFolderPlan } from './manifest';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const file = (path: string, size = 3, mtime = 1_700_000_000_000) => ({ path, size, mtime });
const dir = (path: string, mtime = 1_700_000_000_000) => ({ path, dir: true, mtime });

/** The manifest of `entries` and the body size and count it announces. */
function manifest(entries: unknown[]) {
  const bytes = enc({ entries });
  const files = entries.reduce<number>((t, e) => t + ((e as { size?: number } | null)?.size ?? 0), 0);
  return { bytes, size: LENGTH_BYTES + bytes.length + files, count: entries.length };
}

function refused(entries: unknown[]): string {
  const m = manifest(entries);
  try {
    planFolder(m.bytes, m.size, m.count);
  } catch (err) {
    expect(err).toBeInstanceOf(FolderRefusal);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('folder manifest', () => {
  it('plans files in body order, with their offsets, and empty folders once', () => {
    const m = manifest([file('a.txt', 2), file('sub/b.bin', 5), dir('empty'), dir('empty')]);
    const plan = planFolder(m.bytes, m.size, m.count);
    const start = LENGTH_BYTES + m.bytes.length;
    expect(plan.contentsStart).toBe(start);
    expect(plan.files).toEqual([
      { path: 'a.txt', offset: start, size: 2, mtime: 1_700_000_000_000 },
      { path: 'sub/b.bin', offset: start + 2, size: 5, mtime: 1_700_000_000_000 },
    ]);
    expect(plan.dirs).toEqual([{ path: 'empty', mtime: 1_700_000_000_000 }]);
  });

  it.each([
    ['..', '../escape'],
    ['a dot-dot inside', 'a/../../etc/passwd'],
    ['an absolute path', '/etc/passwd'],
    ['an empty component', 'a//b'],
    ['a trailing slash', 'a/'],
    ['"."', './a'],
    ['a backslash', 'a\\..\\b'],
    ['a drive letter', 'C:/Windows'],
    ['a colon (an NTFS stream)', 'a.txt:secret'],
    ['NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['a C1 control', 'a\u0085b'],
    ['DEL', 'a\u007fb'],
    ['a device name', 'CON'],
    ['a device name in lower case with an extension', 'sub/nul.txt'],
    ['COM1', 'com1.log'],
    ['LPT9', 'LPT9'],
    ['a trailing dot', 'a.'],
    ['a trailing space', 'a '],
    ['an empty path', ''],
  ])('refuses %s', (_, path) => {
    expect(refused([file(path)])).toBeTruthy();
  });

  it('keeps names that merely look odd', () => {
    for (const path of ['...a', 'CONSOLE', 'COM10', 'café/日本語.txt', 'a b/c', '.hidden']) {
      const m = manifest([file(path)]);
      expect(planFolder(m.bytes, m.size, m.count).files[0].path).toBe(path);
    }
  });

  it('refuses paths deeper than 32 and components longer than 255 bytes', () => {
    expect(refused([file(Array(33).fill('d').join('/'))])).toMatch(/deeper than 32/);
    expect(planFolder(manifest([file(Array(32).fill('d').join('/'))]).bytes, manifest([file(Array(32).fill('d').join('/'))]).size, 1).files).toHaveLength(1);
    expect(refused([file('é'.repeat(128))])).toMatch(/255 bytes/);
  });

  it('refuses a path that is a file and also a folder, either way round', () => {
    expect(refused([file('a'), file('a/b')])).toMatch(/file and also a folder/);
    expect(refused([file('a/b'), file('a')])).toMatch(/file and also a folder/);
    expect(refused([dir('x'), file('x')])).toMatch(/file and also a folder/);
  });

  it('refuses entries that are neither a file nor a folder, and bad types', () => {
    expect(refused([{ path: 'a', mtime: 1 }])).toMatch(/neither/);
    expect(refused([{ path: 'a', size: 1, dir: true, mtime: 1 }])).toMatch(/neither/);
    expect(refused([{ path: 'a', size: -1, mtime: 1 }])).toMatch(/not valid/);
    expect(refused([{ path: 'a', size: 1.5, mtime: 1 }])).toMatch(/not valid/);
    expect(refused([{ path: 'a', size: '1', mtime: 1 }])).toMatch(/not valid/);
    expect(refused([{ path: 7, size: 1, mtime: 1 }])).toMatch(/not valid/);
    expect(refused([{ path: 'a', size: 1 }])).toMatch(/not valid/);
    expect(refused([{ path: 'a', dir: 'yes', mtime: 1 }])).toMatch(/not valid/);
    expect(refused(['a'])).toMatch(/not valid/);
    expect(refused([null])).toMatch(/not valid/);
  });

  it('refuses a size that is not the manifest and the files together', () => {
    const m = manifest([file('a', 10)]);
    expect(() => planFolder(m.bytes, m.size + 1, 1)).toThrow(/size is not/);
    expect(() => planFolder(m.bytes, m.size - 1, 1)).toThrow(/size is not/);
    // Sizes that overflow what a number holds exactly cannot be made to add up.
    const huge = manifest([file('a', Number.MAX_SAFE_INTEGER), file('b', Number.MAX_SAFE_INTEGER)]);
    expect(() => planFolder(huge.bytes, 0, 2)).toThrow(FolderRefusal);
  });

  it('refuses a count that is not the announced one', () => {
    const m = manifest([file('a'), file('b')]);
    expect(() => planFolder(m.bytes, m.size, 3)).toThrow(/announced number/);
  });

  it('refuses what is not a manifest', () => {
    for (const bytes of [new Uint8Array([0xff, 0xfe]), enc([]), enc({}), enc({ entries: {} }), enc(null), new TextEncoder().encode('{"entries": ['), enc({ entries: 'x' })]) {
      expect(() => planFolder(bytes, LENGTH_BYTES + bytes.length, 0)).toThrow(FolderRefusal);
    }
    // Deep nesting is refused, not a crash.
    const deep = new TextEncoder().encode(`{"entries":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(() => planFolder(deep, LENGTH_BYTES + deep.length, 1)).toThrow(FolderRefusal);
  });

  it('refuses more than 100,000 entries', () => {
    const entries = Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => ({ path: `f${i}`, size: 0, mtime: 0 }));
    expect(refused(entries)).toMatch(/100,000/);
  });

  it('checks the manifest length before reading it', () => {
    const len = (n: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n);
      return b;
    };
    expect(() => manifestLength(len(MAX_MANIFEST_BYTES + 1), 2 ** 40)).toThrow(/above 8 MiB/);
    expect(() => manifestLength(len(0xffffffff), 2 ** 40)).toThrow(/above 8 MiB/);
    expect(() => manifestLength(len(100), 50)).toThrow(/longer than the folder/);
    expect(() => manifestLength(new Uint8Array(2), 50)).toThrow(FolderRefusal);
    expect(manifestLength(len(10), 14)).toBe(10);
  });

  it('keeps both of two names that differ only in case, and never overwrites', () => {
    const m = manifest([file('Photo.JPG'), file('photo.jpg'), file('photo (1).jpg'), file('a/B'), file('a/b'), file('noext'), file('NoExt')]);
    const paths = planFolder(m.bytes, m.size, m.count).files.map((f) => f.path);
    expect(paths).toEqual(['Photo.JPG', 'photo (1).jpg', 'photo (1) (1).jpg', 'a/B', 'a/b (1)', 'noext', 'NoExt (1)']);
    expect(new Set(paths.map((p) => p.toLowerCase())).size).toBe(paths.length);
    // A file never takes the name of a folder in another case.
    const n = manifest([file('Docs'), file('docs/x')]);
    expect(planFolder(n.bytes, n.size, n.count).files.map((f) => f.path)).toEqual(['Docs (1)', 'docs/x']);
  });

  it('reads the plan from a body', async () => {
    const m = manifest([file('x', 3)]);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, m.bytes.length);
    const plan = await readFolderPlan(new Blob([length, m.bytes, 'abc']), 1);
    expect(plan.files[0]).toMatchObject({ path: 'x', size: 3 });
    await expect(readFolderPlan(new Blob([length, m.bytes, 'abcd']), 1)).rejects.toThrow(FolderRefusal);
    await expect(readFolderPlan(new Blob([]), 0)).rejects.toThrow(FolderRefusal);
  });
});
