/**
 * Paste anywhere and drag-and-drop anywhere on the page. Text pasted into a text field stays
 * there (normal editing); other pastes (files anywhere, text outside a text field) go to
 * `onPaste`, which decides whether to ask first; dropped files go to `onDrop`, and dropped
 * folders to `onDropFolders`, walked into trees.
 */
import { useEffect, useRef, useState } from 'react';
import { splitDrop, type Tree, treeFromEntry } from '../../../lib/folder/pack';
import { listen } from '../../../utils/listen';

export type Pasted = { files: File[] } | { text: string };

const isEditable = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.isContentEditable || t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'file'));

export function usePasteAndDrop(handlers: { onDrop: (files: File[]) => void; onDropFolders: (trees: Promise<Tree[]>) => void; onPaste: (pasted: Pasted) => void }) {
  const [dragging, setDragging] = useState(false);
  const ref = useRef(handlers);
  useEffect(() => {
    ref.current = handlers;
  });

  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    const onPaste = (e: ClipboardEvent) => {
      const data = e.clipboardData;
      if (!data) return;
      const files = Array.from(data.files);
      if (files.length > 0) {
        e.preventDefault();
        ref.current.onPaste({ files });
        return;
      }
      if (isEditable(e.target)) return;
      const text = data.getData('text/plain');
      if (text.trim()) {
        e.preventDefault();
        ref.current.onPaste({ text });
      }
    };
    const onDragEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setDragging(true);
    };
    const onDragLeave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onDragOver = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const onDrop = (e: DragEvent) => {
      depth = 0;
      setDragging(false);
      if (!e.dataTransfer) return;
      // Taken now: the browser empties the drop's list once this handler returns.
      const { files, folders } = splitDrop(e.dataTransfer);
      if (files.length === 0 && folders.length === 0) return;
      e.preventDefault();
      if (files.length > 0) ref.current.onDrop(files);
      if (folders.length > 0) ref.current.onDropFolders(Promise.all(folders.map(treeFromEntry)));
    };
    return listen<WindowEventMap>(window, { paste: onPaste, dragenter: onDragEnter, dragleave: onDragLeave, dragover: onDragOver, drop: onDrop });
  }, []);

  return { dragging };
}
