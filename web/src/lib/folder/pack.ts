/**
 * A folder to send, as one item (docs/protocol.md, "Folders"): its files and empty folders,
 * from a drop (`webkitGetAsEntry`) or a folder picker (`<input webkitdirectory>`), turned into
 * the body `u32be(n) || manifest || contents`. The body is a Blob made of the picked files
 * themselves, so nothing is read until the crypto worker reads each chunk's slice: a tree of
 * any size costs the manifest's memory and no more.
 */
import { LENGTH_BYTES, MAX_ENTRIES, MAX_MANIFEST_BYTES, type ManifestEntry, pathProblem } from './manifest';

/** One file of the tree, at its path under the folder (without the folder's own name). */
export interface TreeFile {
  path: string;
  file: File;
}

export interface Tree {
  name: string;
  files: TreeFile[];
  /** Folders with nothing in them (paths under the folder). */
  emptyDirs: { path: string; mtime: number }[];
  /** What was left out, and why (a receiver would refuse its name). */
  skipped: string[];
}

export interface PackedFolder {
  name: string;
  body: Blob;
  /** Files and empty folders: the item's `files`, announced before its body. */
  entries: number;
  skipped: string[];
}

/** Paths in UTF-8 byte order (not UTF-16's), as the CLI sorts names: two sends of one tree give one manifest. */
const byBytes = (a: string, b: string) => {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};

/** The body of a folder item. Throws when the tree is more than one folder item may hold. */
export function packFolder(tree: Tree): PackedFolder {
  const skipped = [...tree.skipped];
  const files = tree.files.filter((f) => {
    const why = pathProblem(f.path);
    if (why) skipped.push(`${f.path}: ${why}`);
    return why === undefined;
  });
  const dirs = tree.emptyDirs.filter((d) => {
    const why = pathProblem(d.path);
    if (why) skipped.push(`${d.path}/: ${why}`);
    return why === undefined;
  });
  files.sort((a, b) => byBytes(a.path, b.path));
  dirs.sort((a, b) => byBytes(a.path, b.path));
  const entries: ManifestEntry[] = [
    ...files.map((f) => ({ path: f.path, size: f.file.size, mtime: Math.max(0, Math.floor(f.file.lastModified)) })),
    ...dirs.map((d) => ({ path: d.path, dir: true as const, mtime: Math.max(0, Math.floor(d.mtime)) })),
  ];
  if (entries.length > MAX_ENTRIES) throw new Error(`${tree.name}: ${entries.length} files and folders, above the 100,000 a folder item may hold`);
  const manifest = new TextEncoder().encode(JSON.stringify({ entries }));
  if (manifest.length > MAX_MANIFEST_BYTES) throw new Error(`${tree.name}: its list of files is above 8 MiB`);
  const length = new Uint8Array(LENGTH_BYTES);
  new DataView(length.buffer).setUint32(0, manifest.length);
  return { name: tree.name, body: new Blob([length, manifest, ...files.map((f) => f.file)]), entries: entries.length, skipped };
}

/** The tree a folder picker gave (`webkitRelativePath` is `folder/sub/file`); one tree per top folder. */
export function treesFromPicker(files: readonly File[]): Tree[] {
  const trees = new Map<string, Tree>();
  for (const file of files) {
    const rel = file.webkitRelativePath || file.name;
    const slash = rel.indexOf('/');
    const name = slash > 0 ? rel.slice(0, slash) : 'Folder';
    const tree = trees.get(name) ?? { name, files: [], emptyDirs: [], skipped: [] };
    trees.set(name, tree);
    tree.files.push({ path: slash > 0 ? rel.slice(slash + 1) : rel, file });
  }
  return [...trees.values()];
}

/** All entries of a directory (`readEntries` gives them in batches until an empty one). */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject));

/** When a folder was changed, where the browser says (Chromium); else now. */
const dirTime = (entry: FileSystemDirectoryEntry) =>
  new Promise<number>((resolve) => {
    const withMeta = entry as FileSystemDirectoryEntry & { getMetadata?: (ok: (m: { modificationTime: Date }) => void, fail: () => void) => void };
    if (!withMeta.getMetadata) return resolve(Date.now());
    withMeta.getMetadata(
      (m) => resolve(m.modificationTime.getTime()),
      () => resolve(Date.now()),
    );
  });

/**
 * The tree of a dropped folder. A drop gives entries, not files: a folder is walked here, and
 * an entry that is neither a file nor a folder, or cannot be read, is skipped and named.
 */
export async function treeFromEntry(root: FileSystemDirectoryEntry): Promise<Tree> {
  const tree: Tree = { name: root.name, files: [], emptyDirs: [], skipped: [] };
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string) => {
    const children = await readAll(dir);
    if (children.length === 0 && prefix !== '') tree.emptyDirs.push({ path: prefix.slice(0, -1), mtime: await dirTime(dir) });
    for (const child of children) {
      const path = prefix + child.name;
      if (tree.files.length + tree.emptyDirs.length > MAX_ENTRIES) return;
      try {
        if (child.isFile) tree.files.push({ path, file: await fileOf(child as FileSystemFileEntry) });
        else if (child.isDirectory) await walk(child as FileSystemDirectoryEntry, `${path}/`);
        else tree.skipped.push(`${path}: not a file or a folder`);
      } catch (err) {
        tree.skipped.push(`${path}: ${err instanceof Error ? err.message : 'could not be read'}`);
      }
    }
  };
  await walk(root, '');
  return tree;
}

/**
 * What a drop holds: its files, and its folders' entries. The entries must be taken while the
 * drop event runs (the browser empties its list afterwards); walking them may take longer.
 */
export function splitDrop(data: DataTransfer): { files: File[]; folders: FileSystemDirectoryEntry[] } {
  const files: File[] = [];
  const folders: FileSystemDirectoryEntry[] = [];
  if (data.items.length === 0) return { files: Array.from(data.files), folders };
  for (const item of Array.from(data.items)) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry?.isDirectory) {
      folders.push(entry as FileSystemDirectoryEntry);
      continue;
    }
    const file = item.getAsFile();
    if (file) files.push(file);
  }
  return { files, folders };
}
