/**
 * Failure storage: the DLQ processor's last stop. One JSON object per request under
 * `failures/corrections/<reason>/dt=YYYY-MM-DD/`, holding everything a person needs to act without
 * digging: the original message bytes, the reason, the item's history and the last error.
 */
import { createHash } from 'node:crypto';
import { partitionOf } from '../../consumers/contract/layout.ts';
import type { HistoryItem } from './history.ts';
import type { CorrectionMessage } from './messages.ts';
import { FAILURE_PREFIX } from './names.ts';
import type { S3Store, StoredObject } from './s3-store.ts';

export interface StoredFailure {
  readonly v: 1;
  readonly reason: string;
  readonly requestKey: string;
  /** The queue body exactly as received, base64 (it may not even be UTF-8 JSON). */
  readonly originalBase64: string;
  readonly message?: CorrectionMessage;
  readonly history?: HistoryItem;
  readonly lastError?: { readonly code: string; readonly message: string };
  readonly attempts: number;
  readonly firstDeadLetteredAtMs: number;
  readonly storedAtMs: number;
}

/** Deterministic: storing the same request twice (a retried write) overwrites one object. */
export function failureKey(reason: string, requestKey: string, storedAtMs: number): string {
  const { dt } = partitionOf(storedAtMs);
  const digest = createHash('sha256').update(requestKey).digest('hex').slice(0, 16);
  const readable = requestKey.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
  return `${FAILURE_PREFIX}${reason}/dt=${dt}/${readable}.${digest}.json`;
}

export async function storeFailure(store: S3Store, failure: StoredFailure): Promise<string> {
  const key = failureKey(failure.reason, failure.requestKey, failure.storedAtMs);
  await store.put(key, `${JSON.stringify(failure, null, 2)}\n`);
  return key;
}

export interface FailureSummary extends StoredObject {
  readonly reason: string;
}

export async function listFailures(store: S3Store, reason?: string): Promise<FailureSummary[]> {
  const objects = await store.list(reason === undefined ? FAILURE_PREFIX : `${FAILURE_PREFIX}${reason}/`);
  return objects.map((o) => ({ ...o, reason: o.key.slice(FAILURE_PREFIX.length).split('/')[0] ?? '' }));
}

export async function readFailure(store: S3Store, key: string): Promise<StoredFailure> {
  return JSON.parse(Buffer.from(await store.getBytes(key)).toString('utf8')) as StoredFailure;
}
