/**
 * What a pipeline run can see of itself without touching the runtime: the runtime takes its sinks, its
 * processors and its metrics as ports, so the run wraps each one and counts what passes through. The
 * counts are taken where the runtime itself draws the line: a batch counts once its outputs were
 * acknowledged by every sink (the point after which the shard worker may checkpoint it).
 */
import type { Rejection, StreamRecord } from '../consumers/contract/outputs.ts';
import type { RejectReason } from '../consumers/contract/reasons.ts';
import type { Metrics, MetricUnit } from '../consumers/observability/metrics.ts';
import { mergeOutcomes } from '../consumers/processor/outcome.ts';
import type {
  BatchOutcome,
  EncodedOutput,
  OutcomeStage,
  RecordProcessorApi,
} from '../consumers/processor/types.ts';
import type { Sinks } from '../consumers/sinks/ports.ts';
import { LagRecorder } from './lag.ts';

/**
 * Live counters of one run. A record counts once its batch was acknowledged by every sink (the point
 * after which the shard worker may checkpoint it). Records are keyed by shard and sequence number: after
 * a lease changes hands the new owner re-reads from the last checkpoint (at least once), and a record
 * processed twice must still count once.
 */
export class PipelineCounters {
  readonly #records = new Set<string>();
  readonly #duplicates = new Set<string>();
  #duplicatesInBatches = 0;
  /** Outputs acknowledged by the results sink, by kind (`reading`, `window`, `missing`, `anomaly`, …). */
  readonly resultsByKind = new Map<string, number>();
  /**
   * Rejections acknowledged by the DLQ sink, by id. A batch the sinks failed is re-sent whole with the
   * same ids, so keying by id counts each rejected record once.
   */
  readonly dlqRejections = new Map<string, RejectReason>();
  /** Iterator age per shard from the last GetRecords (Kinesis MillisBehindLatest). */
  readonly millisBehindLatest = new Map<string, number>();
  /** Arrival in the stream → batch acknowledged by the results sink, per record (first delivery). */
  readonly lag = new LagRecorder();
  /**
   * The part of `lag` spent before the record was read: arrival in the stream → its batch reached the
   * processor (the GetRecords that returned it, and the wait between polls). Same records, same order.
   */
  readonly readLag = new LagRecorder();
  /** When each record was first delivered (epoch ms), in the same order as `lag`: replay progress over time. */
  readonly deliveredAt = new LagRecorder();

  /** Distinct stream records processed and delivered. */
  get recordsIn(): number {
    return this.#records.size;
  }

  /**
   * Records the processor judged a repeat of an already accepted reading. Exact (distinct records) when
   * the processor was instrumented per record; otherwise the sum of the batches' counts.
   */
  get duplicates(): number {
    return this.#duplicates.size + this.#duplicatesInBatches;
  }

  get resultsOut(): number {
    let total = 0;
    for (const count of this.resultsByKind.values()) total += count;
    return total;
  }

  rejectedByReason(): Partial<Record<RejectReason, number>> {
    const byReason: Partial<Record<RejectReason, number>> = {};
    for (const reason of this.dlqRejections.values()) byReason[reason] = (byReason[reason] ?? 0) + 1;
    return byReason;
  }

  /** The largest iterator age over the shards, ms; 0 before the first read. */
  get iteratorLagMs(): number {
    let max = 0;
    for (const value of this.millisBehindLatest.values()) if (value > max) max = value;
    return max;
  }

  /** @internal called by the instrumented results sink once a batch is acknowledged */
  delivered(meta: BatchMeta, deliveredAtMs: number): void {
    for (let i = 0; i < meta.keys.length; i++) {
      const key = meta.keys[i] as string;
      if (this.#records.has(key)) continue;
      this.#records.add(key);
      this.lag.add(deliveredAtMs - (meta.arrivals[i] as number));
      this.readLag.add(meta.readAtMs - (meta.arrivals[i] as number));
      this.deliveredAt.add(deliveredAtMs);
    }
    if (meta.duplicateKeys === undefined) this.#duplicatesInBatches += meta.duplicates;
    else for (const key of meta.duplicateKeys) this.#duplicates.add(key);
  }
}

export interface BatchMeta {
  readonly keys: readonly string[];
  readonly arrivals: Float64Array;
  /** When the batch reached the processor (epoch ms). */
  readonly readAtMs: number;
  /** Keys of the records judged duplicates, when known per record. */
  readonly duplicateKeys: readonly string[] | undefined;
  readonly duplicates: number;
}

export interface InstrumentOptions {
  /**
   * Run the processor one record at a time to learn which records were duplicates, so the duplicate
   * count stays exact when a record is processed twice (lease handover). Costs a little throughput;
   * benchmarks turn it off. @default true
   */
  readonly perRecordVerdicts?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

const recordKey = (record: StreamRecord): string => `${record.shardId ?? ''}/${record.sequenceNumber}`;

/**
 * Processor and sinks that report to `counters`. The shard worker hands the sinks the very arrays the
 * processor returned, so a batch's metadata travels by the identity of its results array.
 */
export function instrument(
  counters: PipelineCounters,
  createProcessor: () => RecordProcessorApi,
  sinks: Sinks,
  options: InstrumentOptions = {},
  createStage?: () => OutcomeStage,
): {
  createProcessor: () => RecordProcessorApi;
  sinks: Sinks;
  createStage: (() => OutcomeStage) | undefined;
} {
  const perRecord = options.perRecordVerdicts ?? true;
  const now = options.now ?? Date.now;
  const pending = new WeakMap<readonly EncodedOutput[], BatchMeta>();
  const describe = (
    readAtMs: number,
    records: readonly StreamRecord[],
    duplicateKeys: string[] | undefined,
    duplicates: number,
  ) => {
    const arrivals = new Float64Array(records.length);
    const keys = records.map((record, i) => {
      arrivals[i] = record.arrivalMs;
      return recordKey(record);
    });
    return { keys, arrivals, readAtMs, duplicateKeys, duplicates };
  };
  return {
    createProcessor() {
      const inner = createProcessor();
      return {
        process(records) {
          const readAtMs = now();
          if (!perRecord) {
            const outcome = inner.process(records);
            pending.set(outcome.results, describe(readAtMs, records, undefined, outcome.counts.duplicates));
            return outcome;
          }
          const parts: BatchOutcome[] = [];
          const duplicateKeys: string[] = [];
          for (const record of records) {
            const one = inner.process([record]);
            parts.push(one);
            if (one.counts.duplicates > 0) duplicateKeys.push(recordKey(record));
          }
          const merged = mergeOutcomes(parts);
          pending.set(merged.results, describe(readAtMs, records, duplicateKeys, duplicateKeys.length));
          return merged;
        },
        flush() {
          const outcome = inner.flush();
          pending.set(outcome.results, describe(now(), [], [], 0));
          return outcome;
        },
        snapshot: () => inner.snapshot(),
        restore: (snapshots, restoreOptions) => inner.restore(snapshots, restoreOptions),
        get deviceCount() {
          return inner.deviceCount;
        },
      };
    },
    // A stage hands on a new results array; the batch's metadata moves with it.
    createStage:
      createStage === undefined
        ? undefined
        : () => {
            const inner = createStage();
            return {
              async review(outcome) {
                const reviewed = await inner.review(outcome);
                const meta = pending.get(outcome.results);
                if (meta !== undefined && reviewed.results !== outcome.results) {
                  pending.delete(outcome.results);
                  pending.set(reviewed.results, meta);
                }
                return reviewed;
              },
            };
          },
    sinks: {
      results: {
        async deliver(outputs) {
          await sinks.results.deliver(outputs);
          for (const output of outputs) {
            counters.resultsByKind.set(output.kind, (counters.resultsByKind.get(output.kind) ?? 0) + 1);
          }
          const meta = pending.get(outputs);
          if (meta === undefined) return;
          pending.delete(outputs);
          counters.delivered(meta, now());
        },
      },
      archive: sinks.archive,
      dlq: {
        async send(rejections: readonly Rejection[]) {
          await sinks.dlq.send(rejections);
          for (const { id, reason } of rejections) counters.dlqRejections.set(id, reason);
        },
      },
    },
  };
}

/** Metrics that also keep each shard's last MillisBehindLatest for the progress line. */
export function observingMetrics(inner: Metrics, counters: PipelineCounters, shardId?: string): Metrics {
  return {
    count: (name: string, value?: number, unit?: MetricUnit) => inner.count(name, value, unit),
    gauge(name: string, value: number, unit?: MetricUnit) {
      if (name === 'MillisBehindLatest' && shardId !== undefined)
        counters.millisBehindLatest.set(shardId, value);
      inner.gauge(name, value, unit);
    },
    flush: () => inner.flush(),
    withDimensions: (dimensions) =>
      observingMetrics(inner.withDimensions(dimensions), counters, dimensions.ShardId ?? shardId),
  };
}
