/**
 * Wire bodies of the correction queues. A body is parsed once, at the edge: a body this version cannot
 * read becomes a MALFORMED_REQUEST dead letter with its original bytes, never an exception in the loop.
 */
import { CorrectionReason, type CorrectionRequest } from '../../consumers/contract/outputs.ts';
import type { DeadLetterReason } from './names.ts';

export const MESSAGE_VERSION = 1;

/** One correction request on the queue. */
export interface CorrectionMessage {
  readonly v: typeof MESSAGE_VERSION;
  readonly request: CorrectionRequest;
  /**
   * Event time the request is about, epoch ms: the window start for window requests, the reading's device
   * time for GAP_FILLED (whose target names a seq, not a window). Finds the S3 partitions to read.
   */
  readonly eventMs: number;
  /** Set by an operator's redrive: `force` allows a further correction of an already corrected item. */
  readonly redrive?: { readonly force: boolean; readonly atMs: number };
}

/** A request the handler could not complete, as it sits in the correction DLQ. */
export interface DeadLetter {
  readonly v: typeof MESSAGE_VERSION;
  readonly reason: DeadLetterReason;
  /** The original queue body, verbatim, so nothing about the request is lost in re-encoding. */
  readonly original: string;
  /** The parsed request, when the body could be parsed. */
  readonly message?: CorrectionMessage;
  readonly error?: { readonly code: string; readonly message: string };
  readonly deadLetteredAtMs: number;
}

const REASONS = new Set<string>(Object.values(CorrectionReason));

/**
 * Identifies one request message. Several readings of a window raise the same request id (same item and
 * reason), so the reading's seq tells them apart in the history and in the accounting.
 */
export function requestKey(request: CorrectionRequest): string {
  return request.seq === undefined ? request.id : `${request.id}@${request.seq}`;
}

export function encodeCorrectionMessage(request: CorrectionRequest, eventMs: number): string {
  const message: CorrectionMessage = { v: MESSAGE_VERSION, request, eventMs };
  return JSON.stringify(message);
}

/** Event time a core request is about, when the request itself says so (not GAP_FILLED). */
export function eventMsOf(request: CorrectionRequest): number | undefined {
  return request.windowStart === undefined ? undefined : Date.parse(request.windowStart);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export function parseCorrectionMessage(body: string): Parsed<CorrectionMessage> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, message: 'body is not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { ok: false, message: 'body is not an object' };
  const m = value as Partial<CorrectionMessage>;
  if (m.v !== MESSAGE_VERSION) return { ok: false, message: `unknown message version ${String(m.v)}` };
  if (typeof m.eventMs !== 'number' || !Number.isFinite(m.eventMs))
    return { ok: false, message: 'eventMs is not a number' };
  const r = m.request as Partial<CorrectionRequest> | undefined;
  if (
    r === undefined ||
    r.kind !== 'correction-request' ||
    typeof r.id !== 'string' ||
    typeof r.deviceId !== 'string' ||
    typeof r.targetId !== 'string' ||
    typeof r.reason !== 'string' ||
    !REASONS.has(r.reason)
  )
    return { ok: false, message: 'request is not a correction request' };
  if (r.seq !== undefined && !Number.isSafeInteger(r.seq))
    return { ok: false, message: 'seq is not an integer' };
  return { ok: true, value: m as CorrectionMessage };
}

export function parseDeadLetter(body: string): Parsed<DeadLetter> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, message: 'body is not JSON' };
  }
  const d = value as Partial<DeadLetter> | null;
  if (d === null || typeof d !== 'object' || d.v !== MESSAGE_VERSION || typeof d.reason !== 'string')
    return { ok: false, message: 'not a correction dead letter' };
  if (typeof d.original !== 'string') return { ok: false, message: 'dead letter without its original body' };
  return { ok: true, value: d as DeadLetter };
}
