/** Messages between the page and the crypto worker. Types only. */
import type { DeriveResult } from './engine';
import type { StorageMode } from '../disk/opfs';
import type { ErrorKind } from './errors';

/**
 * Where a decrypted chunk goes on disk: `folder/name` at byte `offset` (see `disk/opfs.ts`);
 * `size` is the whole file's, which it takes when first opened.
 */
export interface DiskTarget {
  folder: string;
  name: string;
  offset: number;
  size: number;
}

export type WorkerRequest =
  | { id: number; op: 'derive'; passphrase: string; sessionId: string; iterations?: number }
  | { id: number; op: 'seal'; keyId: number; data: ArrayBuffer; aad: string }
  /** Registers a file to send (see `sources.ts`); `seal-slice` then names it by `source`. */
  | { id: number; op: 'source-add'; source: number; blob: Blob }
  | { id: number; op: 'source-remove'; source: number }
  /** Reads `[start, end)` of a source here in the worker and seals it: no bytes cross over. */
  | { id: number; op: 'seal-slice'; keyId: number; source: number; start: number; end: number; aad: string }
  | { id: number; op: 'open'; keyId: number; iv: Uint8Array<ArrayBuffer>; data: ArrayBuffer; aad: string }
  /** Writes a received chunk's plaintext to disk. */
  | { id: number; op: 'disk-write'; data: ArrayBuffer; target: DiskTarget }
  | { id: number; op: 'disk-probe' }
  | { id: number; op: 'disk-finish'; folder: string; name: string; size: number }
  | { id: number; op: 'disk-remove'; folder: string; name?: string }
  | { id: number; op: 'forget'; keyId: number };

export type WorkerResponse =
  | {
      id: number;
      ok: true;
      derive?: DeriveResult;
      iv?: Uint8Array<ArrayBuffer>;
      data?: ArrayBuffer;
      storage?: StorageMode;
      file?: File;
    }
  | { id: number; ok: false; kind: ErrorKind; message: string };
