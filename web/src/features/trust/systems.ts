/** Where the CA certificate is served (haproxy/haproxy.cfg), and how each system installs it. */

export const CA_PATH = '/sharethings-ca.crt';

/** Plain HTTP on purpose: the device does not trust the CA yet, so https:// would warn. */
export function caUrl(hostname: string): string {
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  return `http://${host}${CA_PATH}`;
}

export type SystemId = 'ios' | 'android' | 'macos' | 'windows' | 'linux';

export const SYSTEMS: { id: SystemId; name: string; steps: string[] }[] = [
  {
    id: 'ios',
    name: 'iPhone and iPad',
    steps: [
      'Scan the QR code with the Camera and open the link in Safari; allow the download of the profile.',
      'Settings → General → VPN & Device Management → "ShareThings local CA" → Install.',
      'Settings → General → About → Certificate Trust Settings → turn on full trust for it.',
    ],
  },
  {
    id: 'android',
    name: 'Android',
    steps: [
      'Scan the QR code and download the file.',
      'Settings → Security (and privacy) → More security settings → Encryption & credentials → Install a certificate → CA certificate.',
      'Pick the downloaded sharethings-ca.crt and confirm.',
    ],
  },
  {
    id: 'macos',
    name: 'macOS',
    steps: [
      'Download the file (the link under the QR code) and open it: Keychain Access adds it to the "System" keychain.',
      'In Keychain Access, double-click "ShareThings local CA" → Trust → When using this certificate: Always Trust.',
    ],
  },
  {
    id: 'windows',
    name: 'Windows',
    steps: [
      'Download the file and open it → Install Certificate.',
      'Store location: Local Machine → Place all certificates in: Trusted Root Certification Authorities → Finish.',
    ],
  },
  {
    id: 'linux',
    name: 'Linux',
    steps: [
      'Download the file, then: sudo cp sharethings-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates',
      'Firefox keeps its own list: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import.',
      'Chromium and Chrome: Settings → Privacy and security → Security → Manage certificates → Authorities → Import.',
    ],
  },
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
