/** Errors the crypto worker reports; kept apart so importing them pulls in no crypto code. */

/** Data that did not authenticate: wrong key, wrong position (AAD), or tampered bytes. */
export class AuthError extends Error {
  constructor() {
    super('decryption failed: wrong key, wrong position, or tampered data');
    this.name = 'AuthError';
  }
}

/** A source file could not be read (deleted, moved or revoked while being sent). */
export class ReadError extends Error {
  override name = 'ReadError';
}

/** Writing a received file to this device's storage failed; `full` when out of space. */
export class DiskError extends Error {
  override name = 'DiskError';
  constructor(
    message: string,
    readonly full: boolean,
  ) {
    super(message);
  }
}

/** How an error crosses the worker boundary, and back into one of the classes above. */
export type ErrorKind = 'auth' | 'read' | 'disk' | 'disk-full' | 'other';

export function errorKind(err: unknown): ErrorKind {
  if (err instanceof AuthError) return 'auth';
  if (err instanceof ReadError) return 'read';
  if (err instanceof DiskError) return err.full ? 'disk-full' : 'disk';
  return 'other';
}

export function errorFromKind(kind: ErrorKind, message: string): Error {
  switch (kind) {
    case 'auth':
      return new AuthError();
    case 'read':
      return new ReadError(message);
    case 'disk':
    case 'disk-full':
      return new DiskError(message, kind === 'disk-full');
    case 'other':
      return new Error(message);
  }
}
