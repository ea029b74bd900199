/** An object URL for a Blob, revoked when the Blob changes or the component goes away. */
import { useEffect, useState } from 'react';

export function useObjectUrl(blob: Blob | undefined): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!blob) return;
    const u = URL.createObjectURL(blob);
    // The URL is an external resource that must be created and revoked in pairs, which is what
    // an effect is for (a memo could not revoke it, and StrictMode would revoke a live one).
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setUrl(u);
    return () => {
      URL.revokeObjectURL(u);
      setUrl(undefined);
    };
  }, [blob]);
  return url;
}
