/**
 * A folder's manifest (docs/protocol.md, "Folders"): what a sender writes, and every rule a
 * receiver checks on the whole of it before a byte of the tree is written. The same rules as
 * `sharethings-cli` (cli/src/folder/manifest.rs), so either refuses what the other would.
 *
 * The body of a folder item is `u32be(n) || manifest || contents`; a manifest that passes
 * becomes a `FolderPlan`: where each file's bytes are in the body and what it is called here.
 */

/** Largest manifest (`n`), in bytes. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** Most entries (files and empty folders) in one folder item. */
export const MAX_ENTRIES = 100_000;
/** Most components in a path. */
export const MAX_DEPTH = 32;
/** Longest component, in UTF-8 bytes. */
export const MAX_COMPONENT_BYTES = 255;
/** The body starts with `u32be(n)`. */
export const LENGTH_BYTES = 4;
export const FOLDER_MIME = 'inode/directory';

/** A file (`size`) or an empty folder (`dir: true`); `mtime` in ms since the epoch. */
export type ManifestEntry = { path: string; size: number; mtime: number } | { path: string; dir: true; mtime: number };

/** Why a folder item is refused; nothing of it has been written. */
export class FolderRefusal extends Error {}

/** One file of the plan: its path here (checked, `/`-separated), where its bytes start in the body, how many, and its time. */
export interface PlannedFile {
  path: string;
  offset: number;
  size: number;
  mtime: number;
}

export interface FolderPlan {
  files: PlannedFile[];
  /** Empty folders, each once. */
  dirs: { path: string; mtime: number }[];
  contentsStart: number;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;
// Unicode's control characters (C0, DEL, C1): what Rust's `char::is_control` means.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\\:]/;
const DEVICE = /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/i;

/**
 * Why one path component may not be written anywhere, or undefined when it may: empty, `.` or
 * `..`; longer than 255 bytes; holding a control character, `\` or `:`; ending in a dot or a
 * space; or a Windows device name with or without an extension (`con.txt` opens the device too).
 */
export function componentProblem(c: string): string | undefined {
  if (c === '' || c === '.' || c === '..') return `a path has an empty, "." or ".." component (${JSON.stringify(c)})`;
  if (utf8Length(c) > MAX_COMPONENT_BYTES) return 'a path component is longer than 255 bytes';
  if (FORBIDDEN.test(c)) return `${JSON.stringify(c)} holds a control character, a backslash or a colon`;
  if (c.endsWith('.') || c.endsWith(' ')) return `${JSON.stringify(c)} ends with a dot or a space`;
  if (DEVICE.test(c.split('.')[0])) return `${JSON.stringify(c)} is a device name`;
  return undefined;
}

/** Why a path is refused: not 1 to 32 good components separated by `/` (so never absolute). */
export function pathProblem(path: string): string | undefined {
  const parts = path.split('/');
  if (parts.length > MAX_DEPTH) return `${JSON.stringify(path)} is deeper than 32 folders`;
  for (const p of parts) {
    const why = componentProblem(p);
    if (why) return why;
  }
  return undefined;
}

/** `n` from the body's first four bytes, refused above 8 MiB or when it leaves no room in a body of `bodySize` bytes. */
export function manifestLength(first: Uint8Array, bodySize: number): number {
  if (first.length < LENGTH_BYTES) throw new FolderRefusal('it is shorter than its manifest length');
  const n = new DataView(first.buffer, first.byteOffset, LENGTH_BYTES).getUint32(0);
  if (n > MAX_MANIFEST_BYTES) throw new FolderRefusal(`its manifest is ${n} bytes, above 8 MiB`);
  if (LENGTH_BYTES + n > bodySize) throw new FolderRefusal('its manifest is longer than the folder');
  return n;
}

const isU64 = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** One parsed entry, typed as the CLI's serde would: a refused shape is a refusal. */
function entryOf(raw: unknown): ManifestEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FolderRefusal('its manifest is not valid: an entry is not an object');
  const e = raw as Record<string, unknown>;
  if (typeof e.path !== 'string' || !isU64(e.mtime)) throw new FolderRefusal('its manifest is not valid: an entry lacks a path or a time');
  if (e.dir !== undefined && typeof e.dir !== 'boolean') throw new FolderRefusal('its manifest is not valid: "dir" is not true or false');
  if (e.size !== undefined && e.size !== null && !isU64(e.size)) throw new FolderRefusal('its manifest is not valid: a size is not a count of bytes');
  const size = e.size ?? undefined;
  if (e.dir === true && size === undefined) return { path: e.path, dir: true, mtime: e.mtime };
  if (e.dir !== true && size !== undefined) return { path: e.path, size, mtime: e.mtime };
  throw new FolderRefusal(`${JSON.stringify(e.path)} is neither a file nor a folder`);
}

/** Parses the manifest's bytes (strict UTF-8 JSON `{"entries": [...]}`). */
export function parseManifest(bytes: Uint8Array): ManifestEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new FolderRefusal(`its manifest is not valid: ${err instanceof Error ? err.message : String(err)}`);
  }
  const entries = (value as { entries?: unknown } | null)?.entries;
  if (typeof value !== 'object' || Array.isArray(value) || !Array.isArray(entries)) throw new FolderRefusal('its manifest is not valid: no list of entries');
  if (entries.length > MAX_ENTRIES) throw new FolderRefusal(`${entries.length} entries, above 100,000`);
  return entries.map(entryOf);
}

/**
 * Checks a whole manifest of a body of `bodySize` bytes announced with `announced` entries,
 * and plans where everything goes. Throws `FolderRefusal`; nothing is written before this passes.
 */
export function planFolder(manifest: Uint8Array, bodySize: number, announced: number): FolderPlan {
  const entries = parseManifest(manifest);
  if (entries.length !== announced) throw new FolderRefusal('its manifest does not have the announced number of entries');
  const contentsStart = LENGTH_BYTES + manifest.length;
  let total = contentsStart;
  const filePaths = new Set<string>();
  const dirPaths = new Set<string>();
  for (const e of entries) {
    const why = pathProblem(e.path);
    if (why) throw new FolderRefusal(why);
    if ('size' in e) {
      total += e.size;
      if (!Number.isSafeInteger(total)) throw new FolderRefusal('its sizes add up past what a folder can hold');
      filePaths.add(e.path);
    } else {
      dirPaths.add(e.path);
    }
    for (let at = e.path.lastIndexOf('/'); at > 0; at = e.path.lastIndexOf('/', at - 1)) dirPaths.add(e.path.slice(0, at));
  }
  if (total !== bodySize) throw new FolderRefusal("its size is not the manifest's and the files' together");
  for (const p of filePaths) if (dirPaths.has(p)) throw new FolderRefusal(`${JSON.stringify(p)} is a file and also a folder`);
  return assign(entries, contentsStart, new Set([...dirPaths].map((p) => p.toLowerCase())));
}

/** `name`, or `stem (n).ext` for n ≥ 1 (the last component only). */
export function numbered(path: string, n: number): string {
  if (n === 0) return path;
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${dir}${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${dir}${name} (${n})`;
}

/**
 * Gives every entry its name here: a path that differs from an earlier one only in case (or
 * not at all) is kept too, as `name (1).ext`, so that no file overwrites another on a disk
 * that ignores case. `taken` starts with every folder's path in lower case.
 */
function assign(entries: ManifestEntry[], contentsStart: number, taken: Set<string>): FolderPlan {
  const plan: FolderPlan = { files: [], dirs: [], contentsStart };
  const dirsSeen = new Set<string>();
  let offset = contentsStart;
  for (const e of entries) {
    if (!('size' in e)) {
      if (!dirsSeen.has(e.path)) plan.dirs.push({ path: e.path, mtime: e.mtime });
      dirsSeen.add(e.path);
      continue;
    }
    let n = 0;
    while (taken.has(numbered(e.path, n).toLowerCase())) n++;
    const path = numbered(e.path, n);
    taken.add(path.toLowerCase());
    plan.files.push({ path, offset, size: e.size, mtime: e.mtime });
    offset += e.size;
  }
  return plan;
}

/** Reads and checks the manifest at the start of a received folder's body. */
export async function readFolderPlan(body: Blob, announced: number): Promise<FolderPlan> {
  const n = manifestLength(new Uint8Array(await body.slice(0, LENGTH_BYTES).arrayBuffer()), body.size);
  return planFolder(new Uint8Array(await body.slice(LENGTH_BYTES, LENGTH_BYTES + n).arrayBuffer()), body.size, announced);
}

/** The folder's own name as a name here: its sealed name when it is a good one, else "Folder". */
export function folderName(name: string): string {
  return componentProblem(name) === undefined ? name : 'Folder';
}

/** A received folder's body passes every check, or the item is refused (the error says why). */
export async function checkFolder(body: Blob, announced: number): Promise<void> {
  try {
    await readFolderPlan(body, announced);
  } catch (err) {
    if (err instanceof FolderRefusal) throw new FolderRefusal(`refused: ${err.message}`);
    throw err;
  }
}
