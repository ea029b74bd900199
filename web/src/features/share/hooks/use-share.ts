/** Turning what the user gives us (text, files, pasted images) into shared items. */
import { useCallback } from 'react';
import { useRoom } from '../../../hooks/use-room';
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

export async function shareFiles(room: RoomClient, files: File[]) {
  for (const file of files) {
    const mime = file.type || 'application/octet-stream';
    if (PREVIEWABLE.test(mime)) {
      const name = file.name && file.name !== 'image.png' ? file.name : `Image ${new Date().toLocaleTimeString()}.${mime.split('/')[1].replace('+xml', '')}`;
      await room.share(file, { kind: 'image', name, mime, ...(await imageSize(file)) });
    } else {
      await room.share(file, { kind: 'file', name: file.name || 'file', mime });
    }
  }
}

export async function shareText(room: RoomClient, text: string) {
  const blob = new Blob([text], { type: 'text/plain;charset=utf-8' });
  await room.share(blob, { kind: 'text', name: 'Text', mime: 'text/plain;charset=utf-8' }, text);
}

export function useShare() {
  const room = useRoom();
  return {
    shareText: useCallback((t: string) => shareText(room, t), [room]),
    shareFiles: useCallback((f: File[]) => shareFiles(room, f), [room]),
  };
}
