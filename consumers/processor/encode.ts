/**
 * Turns core outputs into newline-delimited JSON for the sinks. Each line leads with `dt` and `hour`
 * (UTC, from the output's event time) and the device's `part`, because Firehose's dynamic partitioning
 * reads them from the record (contract/layout.ts).
 */
import type { CalculationSink } from '../calculate/calculator.ts';
import { devicePartOf } from '../contract/layout.ts';
import type {
  AnomalyRecord,
  CorrectionRequest,
  MissingRecord,
  ReadingResult,
  Rejection,
  StreamRecord,
  WindowResult,
} from '../contract/outputs.ts';
import type { BatchCounts, BatchOutcome, EncodedOutput } from './types.ts';

const HOUR_MS = 3_600_000;

/**
 * Caches the `{"dt":…,"hour":…,"part":…,` prefix: consecutive outputs almost always share the hour, and
 * often the device.
 */
class PartitionPrefix {
  private hour = Number.NaN;
  private hourPrefix = '';
  private deviceId: string | undefined;
  private prefix = '';

  of(epochMs: number, deviceId: string): string {
    const hour = Math.floor(epochMs / HOUR_MS);
    if (hour !== this.hour) {
      const iso = new Date(hour * HOUR_MS).toISOString();
      this.hour = hour;
      this.hourPrefix = `{"dt":"${iso.slice(0, 10)}","hour":"${iso.slice(11, 13)}",`;
      this.deviceId = undefined;
    }
    if (deviceId !== this.deviceId) {
      this.deviceId = deviceId;
      this.prefix = `${this.hourPrefix}"part":"${devicePartOf(deviceId)}",`;
    }
    return this.prefix;
  }
}

const prefixes = new PartitionPrefix();

/** Encodes one output object as a partitioned JSON line. */
export function encodeOutput(
  output: { readonly id: string; readonly kind: string; readonly deviceId: string },
  partitionMs: number,
): EncodedOutput {
  const json = JSON.stringify(output);
  return {
    id: output.id,
    kind: output.kind,
    deviceId: output.deviceId,
    partitionMs,
    line: `${prefixes.of(partitionMs, output.deviceId)}${json.slice(1)}\n`,
  };
}

/** JSON for a finite number is its shortest round-trip form, which `String` gives; non-finite is null. */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** `{"a":1,"b":2}` for an object of numbers whose keys need no escaping (metric names match a pattern). */
function numbers(values: Readonly<Record<string, number | undefined>>): string {
  let out = '{';
  for (const key in values) {
    const value = values[key];
    if (value === undefined) continue;
    out += out.length === 1 ? `"${key}":${num(value)}` : `,"${key}":${num(value)}`;
  }
  return `${out}}`;
}

/**
 * The reading result as `JSON.stringify` would write it, minus the opening brace. Readings are one per
 * event, so this is the hottest output: written by hand it costs a fraction of the generic serializer.
 * Identifiers, timestamps, metric names and flags match fixed patterns and need no escaping; firmware may.
 */
export function readingJsonBody(r: ReadingResult): string {
  let out = `"kind":"reading","id":"${r.id}","deviceId":"${r.deviceId}","seq":${r.seq},"ts":"${r.ts}"`;
  if (r.firmware !== undefined) out += `,"firmware":${JSON.stringify(r.firmware)}`;
  out += `,"metrics":${numbers(r.metrics)},"deltas":${numbers(r.deltas)}`;
  if (r.dewPointC !== undefined) out += `,"dewPointC":${num(r.dewPointC)}`;
  if (r.powerW !== undefined) out += `,"powerW":${num(r.powerW)}`;
  out += r.flags.length === 0 ? ',"flags":[]' : `,"flags":["${r.flags.join('","')}"]`;
  if (r.anomalyScore !== undefined) out += `,"anomalyScore":${num(r.anomalyScore)}`;
  return `${out}}`;
}

/** Collects the outputs of one batch as a CalculationSink, encoding as they come. */
export class OutputCollector implements CalculationSink {
  readonly results: EncodedOutput[] = [];
  readonly archive: EncodedOutput[] = [];
  readonly rejections: Rejection[] = [];
  readonly corrections: CorrectionRequest[] = [];
  readonly counts: BatchCounts = { in: 0, accepted: 0, rejected: 0, duplicates: 0 };
  /** Set when a later stage (the model review) needs the scored readings themselves, not just their lines. */
  readonly scoredReadings: ReadingResult[] | undefined;

  constructor(keepScoredReadings = false) {
    this.scoredReadings = keepScoredReadings ? [] : undefined;
  }

  reading(result: ReadingResult, eventMs: number): void {
    if (this.scoredReadings !== undefined && result.anomalyScore !== undefined) {
      this.scoredReadings.push(result);
    }
    this.results.push({
      id: result.id,
      kind: 'reading',
      deviceId: result.deviceId,
      partitionMs: eventMs,
      line: `${prefixes.of(eventMs, result.deviceId)}${readingJsonBody(result)}\n`,
    });
  }

  window(result: WindowResult, eventMs: number): void {
    this.results.push(encodeOutput(result, eventMs));
  }

  missing(record: MissingRecord, eventMs: number): void {
    this.results.push(encodeOutput(record, eventMs));
  }

  anomaly(record: AnomalyRecord, eventMs: number): void {
    this.results.push(encodeOutput(record, eventMs));
  }

  correction(request: CorrectionRequest, eventMs: number): void {
    this.corrections.push(request);
    this.results.push(encodeOutput(request, eventMs));
  }

  /**
   * The accepted event verbatim, with what a recalculation needs to reproduce the original run
   * (arrival time and stream position). Partitioned by device time, where the correction handler looks.
   */
  archiveRecord(record: StreamRecord, text: string, deviceId: string, seq: number, tsMs: number): void {
    // A pretty-printed payload would break the one-record-per-line archive: compact it (rare path).
    const event = text.includes('\n') || text.includes('\r') ? JSON.stringify(JSON.parse(text)) : text;
    const id = `${deviceId}:r:${seq}`;
    // deviceId matches DEVICE_ID_PATTERN, so it needs no JSON escaping; the stream positions might.
    const shard = record.shardId === undefined ? '' : `,"shardId":${JSON.stringify(record.shardId)}`;
    this.archive.push({
      id,
      kind: 'raw',
      deviceId,
      partitionMs: tsMs,
      line:
        `${prefixes.of(tsMs, deviceId)}"kind":"raw","id":"${id}","deviceId":"${deviceId}","seq":${seq},` +
        `"arrivalMs":${record.arrivalMs},"sequenceNumber":${JSON.stringify(record.sequenceNumber)}${shard},` +
        `"event":${event}}\n`,
    });
  }

  outcome(): BatchOutcome {
    return {
      results: this.results,
      archive: this.archive,
      rejections: this.rejections,
      corrections: this.corrections,
      counts: this.counts,
      ...(this.scoredReadings === undefined ? {} : { scoredReadings: this.scoredReadings }),
    };
  }
}
