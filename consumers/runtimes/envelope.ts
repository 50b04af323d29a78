/**
 * Checks shared by the runtimes that receive records inside a text envelope (the Lambda event's
 * `kinesis` object, the MultiLang daemon's JSON records) before anything reaches the record processor.
 * A record whose envelope is broken becomes an UnreadableRecord for the DLQ, never an exception.
 */
import { decodeStrictBase64 } from '../contract/base64.ts';
import { RejectReason } from '../contract/reasons.ts';
import type { UnreadableRecord } from '../processor/record-processor.ts';

/** The reason code of a broken envelope; the message names the field (`kinesis.data is not base64`, …). */
export const ENVELOPE_REJECT_REASON: RejectReason = RejectReason.MalformedEnvelope;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, loggable description of a value of the wrong type. */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return value === '' ? 'empty' : `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `a ${typeof value}`;
}

/** What a broken envelope keeps of its payload for the DLQ: the base64's bytes if any, else the text's. */
export function rawOf(data: unknown): Uint8Array {
  if (typeof data !== 'string') return new Uint8Array(0);
  return decodeStrictBase64(data) ?? Buffer.from(data, 'utf8');
}

export function unreadable(
  id: string,
  field: string,
  problem: string,
  data: unknown,
  arrivalMs: unknown,
): UnreadableRecord {
  return {
    id,
    reason: ENVELOPE_REJECT_REASON,
    message: `broken record envelope: ${field === '' ? problem : `${field} ${problem}`}`,
    raw: rawOf(data),
    arrivalMs: typeof arrivalMs === 'number' && Number.isFinite(arrivalMs) ? arrivalMs : 0,
  };
}
