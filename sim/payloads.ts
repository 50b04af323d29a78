/**
 * What goes on the wire for one simulated record: a PutEvents entry for EventBridge, or raw bytes for a
 * direct Kinesis PutRecords when the payload is something EventBridge cannot carry (PutEvents takes
 * `Detail` as a JSON string, so broken JSON, invalid UTF-8 or a literal 1e999 can only reach the stream
 * by being written to it directly, as a misbehaving producer would).
 */
import { TELEMETRY_DETAIL_TYPE, TELEMETRY_SOURCE } from '../consumers/contract/telemetry.ts';

/** The fields of an EventBridge `PutEventsRequestEntry` the simulator sets (the port adds the bus name). */
export interface BusEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
}

/** One Kinesis `PutRecords` entry. */
export interface StreamEntry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
}

/** The account and region a direct record claims, as EventBridge would have stamped them. */
export interface EnvelopeContext {
  readonly account: string;
  readonly region: string;
}

export function busEntry(detail: Readonly<Record<string, unknown>>): BusEntry {
  return { Source: TELEMETRY_SOURCE, DetailType: TELEMETRY_DETAIL_TYPE, Detail: JSON.stringify(detail) };
}

/** PutEvents counts Source, DetailType and Detail as UTF-8 bytes towards its 256 KB request limit. */
export function busEntrySize(entry: BusEntry): number {
  return (
    Buffer.byteLength(entry.Source, 'utf8') +
    Buffer.byteLength(entry.DetailType, 'utf8') +
    Buffer.byteLength(entry.Detail, 'utf8')
  );
}

/**
 * The event envelope EventBridge writes to a Kinesis target, around a detail given as JSON text (so the
 * text can carry what JSON.stringify cannot, such as 1e999). `id` is a UUID-shaped hex string.
 */
export function envelopeText(detailText: string, id: string, time: Date, context: EnvelopeContext): string {
  // EventBridge's envelope `time` has second precision.
  const isoSeconds = `${time.toISOString().slice(0, 19)}Z`;
  return (
    `{"version":"0","id":${JSON.stringify(id)},"detail-type":${JSON.stringify(TELEMETRY_DETAIL_TYPE)},` +
    `"source":${JSON.stringify(TELEMETRY_SOURCE)},"account":${JSON.stringify(context.account)},` +
    `"time":"${isoSeconds}","region":${JSON.stringify(context.region)},"resources":[],"detail":${detailText}}`
  );
}

export function uuidFromHex(hex32: string): string {
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20, 32)}`;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Inserts a byte sequence that is not UTF-8 (0xC3 must be followed by a continuation byte 0x80–0xBF; 0x28
 * is not one) at `at`, inside a JSON string so the text would otherwise be valid.
 */
export function withInvalidUtf8(bytes: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(bytes.length + 2);
  out.set(bytes.subarray(0, at), 0);
  out[at] = 0xc3;
  out[at + 1] = 0x28;
  out.set(bytes.subarray(at), at + 2);
  return out;
}
