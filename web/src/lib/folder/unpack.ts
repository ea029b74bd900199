/**
 * A received folder, out of its body and onto the user's disk, read slice by slice from the
 * stored body (on disk, like any received file) so no file is ever whole in memory: into a
 * folder the user picks where the browser has `showDirectoryPicker`, otherwise as a ZIP
 * streamed out of the same slices. Only a checked plan (`manifest.ts`) is written.
 */
import { makeZip } from 'client-zip';
import { type FolderPlan, folderName, numbered } from './manifest';

/** Whether this browser lets a page write into a folder the user picks. */
export const canPickFolder = () => typeof window !== 'undefined' && 'showDirectoryPicker' in window;

type PickerWindow = Window & { showDirectoryPicker(opts: { mode: 'readwrite'; id?: string }): Promise<FileSystemDirectoryHandle> };

/** Asks the user for a folder to write into (needs a click); undefined when they cancel. */
export async function pickFolder(): Promise<FileSystemDirectoryHandle | undefined> {
  try {
    return await (window as unknown as PickerWindow).showDirectoryPicker({ mode: 'readwrite', id: 'sharethings-folders' });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') return undefined;
    throw err;
  }
}

const isMissing = (err: unknown) => err instanceof DOMException && (err.name === 'NotFoundError' || err.name === 'TypeMismatchError');

/** A new folder `name` in `parent`, or `name (1)`… beside one that exists: never into it. */
async function freshFolder(parent: FileSystemDirectoryHandle, name: string): Promise<FileSystemDirectoryHandle> {
  for (let n = 0; ; n++) {
    const candidate = numbered(name, n);
    try {
      await parent.getDirectoryHandle(candidate);
    } catch (err) {
      if (!isMissing(err)) throw err;
      try {
        await parent.getFileHandle(candidate);
      } catch (fileErr) {
        if (isMissing(fileErr)) return parent.getDirectoryHandle(candidate, { create: true });
        throw fileErr;
      }
    }
  }
}

/** Files written at once into a picked folder. */
const PARALLEL_WRITES = 8;

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));

/** One file, from its slice of the body; a failed write leaves nothing half-written behind it. */
async function writeFile(dir: FileSystemDirectoryHandle, name: string, bytes: Blob) {
  const out = await (await dir.getFileHandle(name, { create: true })).createWritable();
  try {
    await out.write(bytes);
    await out.close();
  } catch (err) {
    await out.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * Writes the tree into a new folder inside `parent` (named after the item, numbered beside an
 * existing one) and returns that folder's name. `progress` gets the bytes written so far.
 * A page cannot set a file's modification time here: the files get the time they are written.
 */
export async function writeToFolder(body: Blob, plan: FolderPlan, name: string, parent: FileSystemDirectoryHandle, progress?: (bytes: number) => void): Promise<string> {
  const root = await freshFolder(parent, folderName(name));
  const dirs = new Map<string, FileSystemDirectoryHandle>([['', root]]);
  const dirAt = async (path: string): Promise<FileSystemDirectoryHandle> => {
    const known = dirs.get(path);
    if (known) return known;
    const parentDir = await dirAt(parentOf(path));
    const made = await parentDir.getDirectoryHandle(path.slice(path.lastIndexOf('/') + 1), { create: true });
    dirs.set(path, made);
    return made;
  };
  for (const d of plan.dirs) await dirAt(d.path);
  // Every folder first, one at a time (each is made once); then the files, a few at a time:
  // one after another, a tree of small files waited on each file's open and close in turn.
  const folders: FileSystemDirectoryHandle[] = [];
  for (const f of plan.files) folders.push(await dirAt(parentOf(f.path)));
  let written = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < plan.files.length; i = next++) {
      const f = plan.files[i];
      await writeFile(folders[i], f.path.slice(f.path.lastIndexOf('/') + 1), body.slice(f.offset, f.offset + f.size));
      written += f.size;
      progress?.(written);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_WRITES }, worker));
  return root.name;
}

/**
 * The tree as a ZIP stream (stored, not compressed: photos and videos do not shrink, and the
 * stream costs no more than a slice at a time), every path under the folder's own name, each
 * file and empty folder with its modification time. Zip64 where sizes need it.
 */
export function zipFolder(body: Blob, plan: FolderPlan, name: string): ReadableStream<Uint8Array> {
  const root = folderName(name);
  function* inputs() {
    yield { name: `${root}/`, lastModified: new Date() };
    for (const d of plan.dirs) yield { name: `${root}/${d.path}/`, lastModified: new Date(d.mtime) };
    for (const f of plan.files) yield { name: `${root}/${f.path}`, lastModified: new Date(f.mtime), input: body.slice(f.offset, f.offset + f.size), size: f.size };
  }
  return makeZip(inputs());
}

/** The ZIP as a file to download, named after the folder. */
export async function zipFile(body: Blob, plan: FolderPlan, name: string): Promise<File> {
  const zip = await new Response(zipFolder(body, plan, name)).blob();
  return new File([zip], `${folderName(name)}.zip`, { type: 'application/zip' });
}
