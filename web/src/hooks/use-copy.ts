/** A copy action with visible feedback: "copied" for a moment, or a toast saying how to copy by hand. */
import { useEffect, useState } from 'react';
import { toaster } from '../components/ui/toaster';
import { copyText } from '../utils/clipboard';

const FEEDBACK_MS = 1500;

export function useCopy() {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), FEEDBACK_MS);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = async (text: string) => {
    if (await copyText(text)) {
      setCopied(true);
      toaster.create({ id: 'copied', type: 'success', title: 'Copied', duration: FEEDBACK_MS });
    } else {
      toaster.create({ id: 'copied', type: 'warning', title: 'Could not copy', description: 'This browser refused. Select the text and copy it by hand.' });
    }
  };
  return { copied, copy };
}
