/** Where the CA certificate is served (haproxy/haproxy.cfg), and how each system installs it. */

export const CA_PATH = '/sharethings-ca.crt';

/** Plain HTTP on purpose: the device does not trust the CA yet, so https:// would warn. */
export function caUrl(hostname: string): string {
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  return `http://${host}${CA_PATH}`;
}

export type SystemId = 'ios' | 'android' | 'macos' | 'windows' | 'linux';

/** Each system's name and steps are in the catalogs: `trust.<id>` and `trust.<id>Step<n>`. */
export const SYSTEMS: { id: SystemId; steps: number }[] = [
  { id: 'ios', steps: 3 },
  { id: 'android', steps: 3 },
  { id: 'macos', steps: 2 },
  { id: 'windows', steps: 2 },
  { id: 'linux', steps: 3 },
];

/** The system this browser most likely runs on, to show its steps first. */
export function guessSystem(): SystemId {
  const ua = navigator.userAgent;
  if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1)) return 'ios';
  if (/Android/.test(ua)) return 'android';
  if (/Macintosh|Mac OS X/.test(ua)) return 'macos';
  if (/Windows/.test(ua)) return 'windows';
  return 'linux';
}
