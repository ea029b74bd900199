/**
 * The routing key (issue 6): lets a load balancer send every member of one session to the same
 * server process without the session name appearing in URLs or logs. Pure JS SHA-256, so it
 * works where `crypto.subtle` is missing.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeUtf8, toHex } from '../crypto/format';

export const routeKey = (sessionId: string): string =>
  toHex(sha256(encodeUtf8(`sharethings/route/${sessionId}`))).slice(0, 16);
