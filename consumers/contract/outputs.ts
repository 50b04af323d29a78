/**
 * Everything the core emits. Every output has a deterministic `id`, so a retry or a replay of the same
 * records produces the same ids and downstream writers can de-duplicate by id.
 */
import type { ReadingFlag, RejectReason } from './reasons.ts';

/** One record as the consumer receives it from Kinesis (or the MultiLang daemon, or a Lambda event). */
export interface StreamRecord {
  /** The record payload, exactly as written to the stream. */
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  /** Kinesis ApproximateArrivalTimestamp in epoch ms; stored in the stream, so replays see the same value. */
  readonly arrivalMs: number;
  readonly shardId?: string;
}

/** An accepted reading with its derived values. */
export interface ReadingResult {
  readonly kind: 'reading';
  /** `${deviceId}:r:${seq}` */
  readonly id: string;
  readonly deviceId: string;
  readonly seq: number;
  readonly ts: string;
  readonly firmware?: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** Counter deltas since the previous reading of the same device, for counters with a usable delta. */
  readonly deltas: Readonly<Record<string, number>>;
  readonly dewPointC?: number;
  /** Average power over the counter delta's elapsed device time. */
  readonly powerW?: number;
  readonly flags: readonly ReadingFlag[];
  /** The reading's anomaly score in [0, 1], when an anomaly scorer is configured. */
  readonly anomalyScore?: number;
}

export interface MetricWindowStats {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation of the window's values. */
  readonly stddev: number;
  /** Value of the reading with the lowest `seq` in the window. */
  readonly first: number;
  /** Value of the reading with the highest `seq` in the window. */
  readonly last: number;
  /** Counters only: sum of the usable deltas of the window's readings (consumption). */
  readonly sumDelta?: number;
}

/** A per-device tumbling window by event time. */
export interface WindowResult {
  readonly kind: 'window';
  /** `${resultId}:v${version}` */
  readonly id: string;
  /** `${deviceId}:w:${windowStartMs}`: stable across versions; readers keep the highest version. */
  readonly resultId: string;
  readonly version: number;
  readonly deviceId: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly received: number;
  /** Events the device's `seq` says belong here: from after the previous window's last seq to this one's. */
  readonly expected: number;
  /** received ÷ expected, in [0, 1]. */
  readonly completeness: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Readings whose anomaly score crossed the threshold. */
  readonly anomalous: number;
  readonly metrics: Readonly<Record<string, MetricWindowStats>>;
  /** Why this version exists, for versions above 1 (written by the correction handler). */
  readonly correction?: { readonly requestId: string; readonly reason: string; readonly supersedes: string };
}

/** A gap in a device's `seq`: events that never arrived (yet). */
export interface MissingRecord {
  readonly kind: 'missing';
  /** `${deviceId}:m:${fromSeq}-${toSeq}` */
  readonly id: string;
  readonly deviceId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
  /** Device time of the reading before and after the gap. */
  readonly afterTs: string;
  readonly beforeTs: string;
}

/** A reading whose anomaly score crossed the threshold, explained for an operator. */
export interface AnomalyRecord {
  readonly kind: 'anomaly';
  /** `${deviceId}:a:${seq}:${metric}` */
  readonly id: string;
  readonly deviceId: string;
  readonly seq: number;
  readonly ts: string;
  readonly metric: string;
  /** What was scored: the reading itself (gauges) or the counter's rate per second (counters). */
  readonly scored: 'value' | 'ratePerSecond';
  readonly observed: number;
  readonly expectedLow: number;
  readonly expectedHigh: number;
  /** Detectors that fired, strongest first. */
  readonly detectors: readonly string[];
  readonly score: number;
  /** The window result the reading belongs to (the correction target). */
  readonly resultId: string;
}

export const CorrectionReason = {
  /** An event arrived after its window was emitted (beyond the allowed lateness). */
  LateEvent: 'LATE_EVENT',
  /** A reading filled a gap that had been reported as missing. */
  GapFilled: 'GAP_FILLED',
  /** An anomalous reading above threshold. */
  Anomaly: 'ANOMALY',
  /** The verifier re-derived a result from the raw archive and it differs. */
  Mismatch: 'MISMATCH',
} as const;
export type CorrectionReason = (typeof CorrectionReason)[keyof typeof CorrectionReason];

/** Asks the correction handler to recalculate one item. Same item and reason ⇒ same id. */
export interface CorrectionRequest {
  readonly kind: 'correction-request';
  /** `${targetId}:c:${reason}` */
  readonly id: string;
  readonly reason: CorrectionReason;
  readonly deviceId: string;
  /** The result the request is about (a window's resultId, or a missing record's device range). */
  readonly targetId: string;
  readonly windowStart?: string;
  readonly seq?: number;
  /** Device time of the reading that raised the request. */
  readonly ts?: string;
  readonly detail?: string;
}

/** A record the pipeline would not accept. Goes to the DLQ with everything needed to act on it. */
export interface Rejection {
  readonly kind: 'rejection';
  /** `${shardId}:${sequenceNumber}` when known, else derived from the payload hash. */
  readonly id: string;
  readonly reason: RejectReason;
  readonly message: string;
  readonly deviceId?: string;
  readonly seq?: number;
  /** The original bytes, base64, so the record can be inspected and redriven. */
  readonly rawBase64: string;
  readonly arrivalMs: number;
}

export type CoreOutput = ReadingResult | WindowResult | MissingRecord | AnomalyRecord | CorrectionRequest;
