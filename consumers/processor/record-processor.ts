/**
 * The record processor every runtime shares: raw records in, encoded outputs and exact counts out.
 * decode → validate → verify → calculate → encode, with no I/O; runtimes own fetching and acknowledging.
 */

import { type AnomalyConfig, createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { DeviceCalculator } from '../calculate/calculator.ts';
import { restoreCalculator, snapshotCalculator } from '../calculate/snapshot.ts';
import { type FleetConfig, parseFleetConfig } from '../config.ts';
import { decodeTelemetry } from '../contract/decode.ts';
import type { Rejection, StreamRecord } from '../contract/outputs.ts';
import type { RejectReason } from '../contract/reasons.ts';
import { Verifier } from '../verify/verify.ts';
import { OutputCollector } from './encode.ts';
import type { BatchOutcome, RecordProcessorApi } from './types.ts';

export interface RecordProcessorOptions {
  /** The fleet's validated configuration. @default parseFleetConfig() — the documented defaults */
  readonly config?: FleetConfig;
  /**
   * In-stream anomaly detection per device metric, or `false` to turn it off.
   * @default {} — on, with the anomaly engine's documented defaults
   */
  readonly anomaly?: Partial<AnomalyConfig> | false;
  /** Return the scored readings with each batch (`BatchOutcome.scoredReadings`). @default false */
  readonly keepScoredReadings?: boolean;
}

export interface RestoreOptions {
  /**
   * Keeps only the devices this processor owns: after a split, each child shard restores its parent's
   * snapshot but takes only the devices whose partition key hashes into its own range.
   * @default every device
   */
  readonly ownsDevice?: (deviceId: string) => boolean;
}

export class RecordProcessor implements RecordProcessorApi {
  readonly config: FleetConfig;
  private calculator: DeviceCalculator;
  private readonly verifier: Verifier;
  private readonly newCalculator: () => DeviceCalculator;
  private readonly keepScoredReadings: boolean;

  constructor(options: RecordProcessorOptions = {}) {
    this.config = options.config ?? parseFleetConfig();
    const config = this.config;
    const anomaly = options.anomaly ?? {};
    this.newCalculator = () =>
      new DeviceCalculator(config, anomaly === false ? undefined : createMetricAnomalyScorer(anomaly));
    // Built here so a bad anomaly configuration fails at start-up, not on the first restore.
    this.calculator = this.newCalculator();
    this.verifier = new Verifier(this.config);
    this.keepScoredReadings = options.keepScoredReadings ?? false;
  }

  get deviceCount(): number {
    return this.calculator.deviceCount;
  }

  process(records: readonly StreamRecord[]): BatchOutcome {
    const out = new OutputCollector(this.keepScoredReadings);
    const calculator = this.calculator;
    for (const record of records) {
      out.counts.in++;
      const decoded = decodeTelemetry(record.data, this.config.maxRecordBytes);
      if (!decoded.ok) {
        out.rejections.push(
          rejection(record, decoded.reason, decoded.message, decoded.deviceId, decoded.seq),
        );
      } else {
        const { detail, tsMs } = decoded;
        const violation = this.verifier.check(
          detail,
          tsMs,
          record.arrivalMs,
          calculator.select(detail.deviceId),
        );
        if (violation !== undefined) {
          out.rejections.push(
            rejection(record, violation.reason, violation.message, detail.deviceId, detail.seq),
          );
        } else if (calculator.apply(detail, tsMs, record.arrivalMs, out) === 'duplicate') {
          out.counts.duplicates++;
        } else {
          out.counts.accepted++;
          out.archiveRecord(record, decoded.text, detail.deviceId, detail.seq, tsMs);
        }
      }
      calculator.advanceStreamTime(record.arrivalMs, out);
    }
    out.counts.rejected = out.rejections.length;
    return out.outcome();
  }

  flush(): BatchOutcome {
    const out = new OutputCollector(this.keepScoredReadings);
    this.calculator.flush(out);
    return out.outcome();
  }

  snapshot(): Uint8Array {
    return snapshotCalculator(this.calculator);
  }

  restore(snapshots: readonly Uint8Array[], options: RestoreOptions = {}): void {
    this.calculator = restoreCalculator(this.newCalculator(), snapshots, options.ownsDevice);
  }
}

export function createRecordProcessor(options: RecordProcessorOptions = {}): RecordProcessor {
  return new RecordProcessor(options);
}

/**
 * A record a runtime received but could not turn into a StreamRecord: its transport envelope (the Lambda
 * event's `kinesis` object, the MultiLang daemon's record) is broken, e.g. `data` is not base64 or the
 * sequence number is missing. It never reaches the processor, but it is still accounted for.
 */
export interface UnreadableRecord {
  /** `${shardId}:${sequenceNumber}` when the envelope names them, else the runtime's own stable position. */
  readonly id: string;
  readonly reason: RejectReason;
  readonly message: string;
  /** What was received in place of the payload (e.g. the UTF-8 of a `data` string that is not base64). */
  readonly raw: Uint8Array;
  /** 0 when the envelope carries no usable arrival time. */
  readonly arrivalMs: number;
}

/**
 * The batch outcome of unreadable records: each one in, each one rejected with its reason, so a runtime
 * that merges it with the processor's outcome keeps `in = accepted + rejected + duplicates`.
 */
export function rejectUnreadable(records: readonly UnreadableRecord[]): BatchOutcome {
  const out = new OutputCollector();
  for (const record of records) {
    out.counts.in++;
    out.rejections.push({
      kind: 'rejection',
      id: record.id,
      reason: record.reason,
      message: record.message,
      rawBase64: Buffer.from(record.raw.buffer, record.raw.byteOffset, record.raw.byteLength).toString(
        'base64',
      ),
      arrivalMs: record.arrivalMs,
    });
  }
  out.counts.rejected = out.rejections.length;
  return out.outcome();
}

function rejection(
  record: StreamRecord,
  reason: RejectReason,
  message: string,
  deviceId: string | undefined,
  seq: number | undefined,
): Rejection {
  return {
    kind: 'rejection',
    id: `${record.shardId ?? record.partitionKey}:${record.sequenceNumber}`,
    reason,
    message,
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(seq === undefined ? {} : { seq }),
    rawBase64: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString(
      'base64',
    ),
    arrivalMs: record.arrivalMs,
  };
}
