/** Messages between the page and the crypto worker. Types only. */
import type { DeriveResult } from './engine';

export type WorkerRequest =
  | { id: number; op: 'derive'; passphrase: string; sessionId: string; iterations?: number }
  | { id: number; op: 'seal'; keyId: number; data: ArrayBuffer; aad: string }
  | { id: number; op: 'open'; keyId: number; iv: Uint8Array<ArrayBuffer>; data: ArrayBuffer; aad: string }
  | { id: number; op: 'forget'; keyId: number };

export type WorkerResponse =
  | { id: number; ok: true; derive?: DeriveResult; iv?: Uint8Array<ArrayBuffer>; data?: ArrayBuffer }
  | { id: number; ok: false; auth: boolean; message: string };
