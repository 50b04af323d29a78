/**
 * What a runtime (embedded shard worker, MultiLang child, Lambda handler) gets back from the shared
 * record processor for one batch. Runtimes differ only in how they receive records and acknowledge them.
 */
import type { CorrectionRequest, ReadingResult, Rejection, StreamRecord } from '../contract/outputs.ts';
import type { Metrics } from '../observability/metrics.ts';

/** One output ready for a sink: the JSON line plus what sinks need to route it. */
export interface EncodedOutput {
  readonly id: string;
  readonly kind: string;
  readonly deviceId: string;
  /** Event time the output is partitioned by (S3 `dt=`/`hour=`), epoch ms. */
  readonly partitionMs: number;
  /** Newline-terminated JSON. */
  readonly line: string;
}

export interface BatchCounts {
  /** Records received in the batch. */
  in: number;
  /** Records accepted into the calculation (including late ones that raised a correction request). */
  accepted: number;
  /** Records rejected with a reason (they are in `rejections`). */
  rejected: number;
  /** Repeats of an already processed `(deviceId, seq)`: counted, not re-emitted. */
  duplicates: number;
}

export interface BatchOutcome {
  /** Results for the results sink (Firehose → `results/dt=…/hour=…/part=…/`). */
  readonly results: EncodedOutput[];
  /** The accepted events, verbatim, for the raw archive (Firehose → `raw/…`) the correction handler reads. */
  readonly archive: EncodedOutput[];
  /** Rejected records for the DLQ, each with its reason code and original bytes. */
  readonly rejections: Rejection[];
  /** Correction requests for the correction handler (also written to results for audit). */
  readonly corrections: CorrectionRequest[];
  readonly counts: BatchCounts;
  /**
   * The readings the anomaly scorer saw, in stream order, each with its in-stream score; present only when
   * the processor was created with `keepScoredReadings` (the model review's input).
   */
  readonly scoredReadings?: readonly ReadingResult[];
}

/** The shared record processor: pure apart from the state it carries between batches. */
export interface RecordProcessorApi {
  process(records: readonly StreamRecord[]): BatchOutcome;
  /**
   * Closes every open window and gap as if the stream ended (used at SHARD_END so child shards start
   * from a settled state, and by replay at the end of its range).
   */
  flush(): BatchOutcome;
  /** Compact, versioned binary snapshot of all per-device state. */
  snapshot(): Uint8Array;
  /**
   * Restores state from one snapshot, or merges several (the parents of a child shard after resharding).
   * `ownsDevice` keeps only the devices whose partition key hashes into this shard's range.
   */
  restore(snapshots: readonly Uint8Array[], options?: { ownsDevice?: (deviceId: string) => boolean }): void;
  /** Devices currently held in state. */
  readonly deviceCount: number;
}

/**
 * An asynchronous step between processing a batch and delivering it, e.g. the served model's second
 * opinion (models/review). Called once per batch, in stream order; it must not throw for service trouble
 * (the batch then goes out as processed).
 */
export interface OutcomeStage {
  review(outcome: BatchOutcome): Promise<BatchOutcome>;
  /** Publishes what the stage counted since it last did (called after every review, failed or not). */
  publishMetrics?(metrics: Metrics): void;
}
