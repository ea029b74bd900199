/** Errors the crypto layer reports; kept apart so importing them pulls in no crypto code. */

/** Data that did not authenticate: wrong key, wrong position (AAD), or tampered bytes. */
export class AuthError extends Error {
  constructor() {
    super('decryption failed: wrong key, wrong position, or tampered data');
    this.name = 'AuthError';
  }
}
