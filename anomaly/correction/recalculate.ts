/**
 * Re-derives one window from the raw archive with the pipeline's own record processor — no second
 * implementation of the calculation that could drift from the first. Pure: no I/O.
 *
 * The archived events are fed de-duplicated by (deviceId, seq), in seq order, each "arriving" at its own
 * device time: the recalculation sees the stream as it should have been, so late and out-of-order events
 * land in their windows. Anomaly scoring is off here because a scorer warmed on an hour would not agree
 * with the stream's scorer warmed on days; which readings are anomalous comes from the stream's own
 * anomaly records instead.
 */
import type { FleetConfig } from '../../consumers/config.ts';
import { type PartitionFields, withoutPartitionFields } from '../../consumers/contract/layout.ts';
import type { StreamRecord, WindowResult } from '../../consumers/contract/outputs.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { EncodedOutput } from '../../consumers/processor/types.ts';

/** One line of the raw archive (see consumers/processor/encode.ts `archiveRecord`). */
export interface RawLine {
  readonly deviceId: string;
  readonly seq: number;
  readonly arrivalMs: number;
  readonly sequenceNumber: string;
  readonly shardId?: string;
  /** The original EventBridge envelope. */
  readonly event: { readonly detail: { readonly ts: string } };
}

export function parseRawLine(line: string): RawLine | undefined {
  try {
    const value = JSON.parse(line) as Partial<RawLine> & { kind?: string };
    if (value.kind !== 'raw' || typeof value.deviceId !== 'string' || typeof value.seq !== 'number')
      return undefined;
    if (typeof value.event?.detail?.ts !== 'string') return undefined;
    return value as RawLine;
  } catch {
    return undefined;
  }
}

/** How a recalculation treats readings the stream flagged as anomalous. */
export type AnomalousReadings = 'exclude' | 'mark';

export interface WindowRecalculation {
  readonly config: FleetConfig;
  readonly deviceId: string;
  readonly windowStartMs: number;
  /** Archived events of the device from before the window (warm-up) through its end, any order, repeats allowed. */
  readonly raw: readonly RawLine[];
  /** Seqs of the window's readings the stream flagged as anomalous. */
  readonly anomalousSeqs: ReadonlySet<number>;
  /** `exclude` leaves anomalous readings out of the window; `mark` keeps them and only counts them. */
  readonly anomalousReadings: AnomalousReadings;
}

export interface RecalculatedWindow {
  /** The window as version 1 would have been, or undefined when no archived event falls in it. */
  readonly window: WindowResult | undefined;
  /** Seqs of the archived events of the window that were used (sorted). */
  readonly seqs: readonly number[];
  /** Distinct archived events fed (after de-duplication). */
  readonly fed: number;
}

const encoder = new TextEncoder();

export function recalculateWindow(input: WindowRecalculation): RecalculatedWindow {
  const { config, deviceId, windowStartMs } = input;
  const windowEndMs = windowStartMs + config.windowMs;
  // First archived copy of each seq wins; Firehose and replays may deliver an event more than once.
  const bySeq = new Map<number, RawLine>();
  for (const line of input.raw) {
    if (line.deviceId !== deviceId) continue;
    const seen = bySeq.get(line.seq);
    if (seen === undefined || line.arrivalMs < seen.arrivalMs) bySeq.set(line.seq, line);
  }
  const exclude = input.anomalousReadings === 'exclude' ? input.anomalousSeqs : new Set<number>();
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const records: StreamRecord[] = [];
  const seqs: number[] = [];
  for (const line of ordered) {
    const tsMs = Date.parse(line.event.detail.ts);
    if (!(tsMs < windowEndMs)) continue;
    if (exclude.has(line.seq)) continue;
    if (tsMs >= windowStartMs) seqs.push(line.seq);
    records.push({
      data: encoder.encode(JSON.stringify(line.event)),
      partitionKey: deviceId,
      sequenceNumber: line.sequenceNumber,
      arrivalMs: tsMs,
      ...(line.shardId === undefined ? {} : { shardId: line.shardId }),
    });
  }
  const processor = createRecordProcessor({ config, anomaly: false });
  const outputs = [...processor.process(records).results, ...processor.flush().results];
  const window = findWindow(outputs, `${deviceId}:w:${windowStartMs}:v1`);
  return {
    window: window === undefined ? undefined : { ...window, anomalous: input.anomalousSeqs.size },
    seqs,
    fed: records.length,
  };
}

function findWindow(outputs: readonly EncodedOutput[], id: string): WindowResult | undefined {
  for (const output of outputs) {
    if (output.kind !== 'window' || output.id !== id) continue;
    return withoutPartitionFields(JSON.parse(output.line) as WindowResult & PartitionFields);
  }
  return undefined;
}

/** Relative tolerance of stats comparisons: sums in another order differ in the last bits. */
const TOLERANCE = 1e-9;

function close(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Math.abs(a - b) <= TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Fields where two versions of a window disagree (empty when they agree). `anomalous`, `id`, `version` and
 * `correction` describe the version, not the calculation, and are not compared.
 */
export function windowDifferences(a: WindowResult, b: WindowResult): string[] {
  const diffs: string[] = [];
  for (const field of ['received', 'expected', 'firstSeq', 'lastSeq'] as const) {
    if (a[field] !== b[field]) diffs.push(field);
  }
  const names = new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)]);
  for (const name of names) {
    const x = a.metrics[name];
    const y = b.metrics[name];
    if (x === undefined || y === undefined) {
      diffs.push(`metrics.${name}`);
      continue;
    }
    for (const stat of ['count', 'min', 'max', 'mean', 'stddev', 'first', 'last', 'sumDelta'] as const) {
      if (!close(x[stat], y[stat])) diffs.push(`metrics.${name}.${stat}`);
    }
  }
  return diffs;
}
