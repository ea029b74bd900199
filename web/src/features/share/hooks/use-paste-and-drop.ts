/**
 * Paste anywhere and drag-and-drop anywhere on the page. Text pasted into a text field stays
 * there (normal editing); other pastes (files anywhere, text outside a text field) go to
 * `onPaste`, which decides whether to ask first; dropped files go to `onDrop`.
 */
import { useEffect, useRef, useState } from 'react';
import { listen } from '../../../utils/listen';

export type Pasted = { files: File[] } | { text: string };

const isEditable = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.isContentEditable || t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'file'));

export function usePasteAndDrop(handlers: { onDrop: (files: File[]) => void; onPaste: (pasted: Pasted) => void }) {
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
      const files = Array.from(e.dataTransfer?.files ?? []);
      if (files.length === 0) return;
      e.preventDefault();
      ref.current.onDrop(files);
    };
    return listen<WindowEventMap>(window, { paste: onPaste, dragenter: onDragEnter, dragleave: onDragLeave, dragover: onDragOver, drop: onDrop });
  }, []);

  return { dragging };
}
