/**
 * Raw Kinesis record bytes → a typed telemetry event, or a rejection with a stable reason code.
 * Order matters: the cheap checks that need no parsing come first, so hostile input costs little.
 */
import { isUtf8 } from 'node:buffer';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { parseInstant } from './instant.ts';
import { RejectReason } from './reasons.ts';
import {
  METRIC_NAME_PATTERN,
  TELEMETRY_DETAIL_TYPE,
  TELEMETRY_SOURCE,
  type TelemetryDetail,
  type TelemetryEvent,
  TelemetryEventSchema,
  TelemetryMetricsSchema,
} from './telemetry.ts';

const checkEvent = TypeCompiler.Compile(TelemetryEventSchema);
const metricName = new RegExp(METRIC_NAME_PATTERN);
const KNOWN_METRICS: ReadonlySet<string> = new Set(Object.keys(TelemetryMetricsSchema.properties));

export interface Decoded {
  readonly ok: true;
  /** The payload as text (valid UTF-8), kept so the raw archive need not decode the bytes again. */
  readonly text: string;
  readonly event: TelemetryEvent;
  readonly detail: TelemetryDetail;
  /** `detail.ts` as epoch ms. */
  readonly tsMs: number;
}

export interface DecodeFailure {
  readonly ok: false;
  readonly reason: RejectReason;
  readonly message: string;
  /** Filled when the payload got far enough to name them. */
  readonly deviceId?: string;
  readonly seq?: number;
}

export type DecodeResult = Decoded | DecodeFailure;

function fail(reason: RejectReason, message: string, detail?: unknown): DecodeFailure {
  if (detail !== null && typeof detail === 'object') {
    const { deviceId, seq } = detail as { deviceId?: unknown; seq?: unknown };
    return {
      ok: false,
      reason,
      message,
      ...(typeof deviceId === 'string' ? { deviceId } : {}),
      ...(typeof seq === 'number' ? { seq } : {}),
    };
  }
  return { ok: false, reason, message };
}

function describeSchemaError(value: unknown): DecodeFailure {
  const detail = (value as { detail?: unknown } | null)?.detail;
  const envelope = value as Record<string, unknown> | null;
  if (
    envelope === null ||
    typeof envelope !== 'object' ||
    Array.isArray(envelope) ||
    envelope.source !== TELEMETRY_SOURCE ||
    envelope['detail-type'] !== TELEMETRY_DETAIL_TYPE
  ) {
    return fail(
      RejectReason.NotTelemetry,
      `expected an EventBridge event with source '${TELEMETRY_SOURCE}' and detail-type '${TELEMETRY_DETAIL_TYPE}'`,
      detail,
    );
  }
  // JSON can carry 1e999, which parses to Infinity: name it precisely rather than as a schema error.
  const metrics = (detail as { metrics?: unknown } | undefined)?.metrics;
  if (metrics !== null && typeof metrics === 'object') {
    for (const [name, reading] of Object.entries(metrics)) {
      if (typeof reading === 'number' && !Number.isFinite(reading)) {
        return fail(RejectReason.NonFiniteMetric, `metric '${name}' is ${reading}`, detail);
      }
    }
  }
  const first = Value.Errors(TelemetryEventSchema, value).First();
  const where = first === undefined ? '' : `${first.path || '/'}: ${first.message}`;
  return fail(RejectReason.SchemaViolation, `schema violation at ${where}`, detail);
}

/** Decodes one record payload. Never throws. */
export function decodeTelemetry(data: Uint8Array, maxRecordBytes: number): DecodeResult {
  if (data.byteLength === 0) return fail(RejectReason.EmptyRecord, 'record is empty');
  if (data.byteLength > maxRecordBytes) {
    return fail(RejectReason.RecordTooLarge, `record is ${data.byteLength} bytes; limit ${maxRecordBytes}`);
  }
  if (!isUtf8(data)) return fail(RejectReason.InvalidUtf8, 'record is not valid UTF-8');
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(RejectReason.InvalidJson, `record is not JSON: ${(error as Error).message}`);
  }
  if (!checkEvent.Check(value)) return describeSchemaError(value);
  const event = value as TelemetryEvent;
  const detail = event.detail;
  for (const name in detail.metrics) {
    // The compiled check bounds the count and types of metrics; names are checked here, once per key.
    if (!KNOWN_METRICS.has(name) && !metricName.test(name)) {
      return fail(
        RejectReason.SchemaViolation,
        `metric name '${name}' does not match ${METRIC_NAME_PATTERN}`,
        detail,
      );
    }
  }
  const tsMs = parseInstant(detail.ts);
  if (Number.isNaN(tsMs))
    return fail(RejectReason.InvalidTimestamp, `ts '${detail.ts}' is not a real instant`, detail);
  return { ok: true, text, event, detail, tsMs };
}
