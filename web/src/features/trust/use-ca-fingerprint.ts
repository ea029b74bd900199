/**
 * The SHA-256 fingerprint of the CA certificate this server offers, in openssl's notation
 * (`AB:CD:…`), so it can be compared with what sharethings-setup-tls printed.
 */
import { useEffect, useState } from 'react';
import { CA_PATH } from './systems';

export type CaFingerprint = { kind: 'loading' } | { kind: 'missing' } | { kind: 'ready'; fingerprint: string };

/** The DER bytes of the first certificate of a PEM text, or null. */
export function pemToDer(pem: string): Uint8Array<ArrayBuffer> | null {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) return null;
  const bin = atob(m[1].replace(/\s+/g, ''));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function hexWithColons(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

export function useCaFingerprint(): CaFingerprint {
  const [state, setState] = useState<CaFingerprint>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    (async () => {
      const res = await fetch(CA_PATH, { cache: 'no-cache' });
      const der = res.ok ? pemToDer(await res.text()) : null;
      // crypto.subtle exists on secure pages only; over plain HTTP the QR code and steps remain.
      if (!der || !globalThis.crypto?.subtle) return { kind: 'missing' } as const;
      const digest = await crypto.subtle.digest('SHA-256', der);
      return { kind: 'ready', fingerprint: hexWithColons(digest) } as const;
    })()
      .catch(() => ({ kind: 'missing' }) as const)
      .then((next) => live && setState(next));
    return () => {
      live = false;
    };
  }, []);
  return state;
}
