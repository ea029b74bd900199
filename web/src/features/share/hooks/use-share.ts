/**
 * Turning what the user gives us (text, files, pasted images, folders) into shared items, for
 * everyone or, with `to`, for one member alone.
 */
import { useCallback } from 'react';
import { useRoom } from '../../../hooks/use-room';
import { FOLDER_MIME } from '../../../lib/folder/manifest';
import { packFolder, type Tree } from '../../../lib/folder/pack';
import type { RoomClient } from '../../../lib/room/room-client';

const PREVIEWABLE = /^image\/(png|jpeg|gif|webp|avif|bmp|svg\+xml)$/;

async function imageSize(file: Blob): Promise<{ width?: number; height?: number }> {
  try {
    const bmp = await createImageBitmap(file);
    const size = { width: bmp.width, height: bmp.height };
    bmp.close();
    return size;
  } catch {
    return {}; // SVGs and odd formats: still shown, just without dimensions
  }
}

export async function shareFiles(room: RoomClient, files: File[], to?: string) {
  for (const file of files) {
    const mime = file.type || 'application/octet-stream';
    if (PREVIEWABLE.test(mime)) {
      const name = file.name && file.name !== 'image.png' ? file.name : `Image ${new Date().toLocaleTimeString()}.${mime.split('/')[1].replace('+xml', '')}`;
      await room.share(file, { kind: 'image', name, mime, ...(await imageSize(file)) }, undefined, to);
    } else {
      await room.share(file, { kind: 'file', name: file.name || 'file', mime }, undefined, to);
    }
  }
}

export async function shareText(room: RoomClient, text: string, to?: string) {
  const blob = new Blob([text], { type: 'text/plain;charset=utf-8' });
  await room.share(blob, { kind: 'text', name: 'Text', mime: 'text/plain;charset=utf-8' }, text, to);
}

/**
 * Each folder as one item, its size and number of entries sealed in its metadata so receivers
 * see what is coming before its first byte. Resolves to what was left out of them, and why.
 */
export async function shareFolders(room: RoomClient, trees: Tree[], to?: string): Promise<string[]> {
  const skipped: string[] = [];
  for (const tree of trees) {
    const packed = packFolder(tree);
    skipped.push(...packed.skipped.map((s) => `${tree.name}/${s}`));
    await room.share(packed.body, { kind: 'folder', name: packed.name, mime: FOLDER_MIME, files: packed.entries }, undefined, to);
  }
  return skipped;
}

export function useShare(to?: string) {
  const room = useRoom();
  return {
    shareText: useCallback((t: string) => shareText(room, t, to), [room, to]),
    shareFiles: useCallback((f: File[]) => shareFiles(room, f, to), [room, to]),
    shareFolders: useCallback((t: Tree[]) => shareFolders(room, t, to), [room, to]),
  };
}
