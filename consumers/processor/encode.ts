/**
 * Turns core outputs into newline-delimited JSON for the sinks. Each line leads with `dt` and `hour`
 * (UTC, from the output's event time) because Firehose's dynamic partitioning reads them from the record.
 */
import type { CalculationSink } from '../calculate/calculator.ts';
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

/** Caches the `{"dt":…,"hour":…,` prefix per UTC hour: consecutive outputs almost always share it. */
class PartitionPrefix {
  private hour = Number.NaN;
  private prefix = '';

  of(epochMs: number): string {
    const hour = Math.floor(epochMs / HOUR_MS);
    if (hour !== this.hour) {
      const iso = new Date(hour * HOUR_MS).toISOString();
      this.hour = hour;
      this.prefix = `{"dt":"${iso.slice(0, 10)}","hour":"${iso.slice(11, 13)}",`;
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
    line: `${prefixes.of(partitionMs)}${json.slice(1)}\n`,
  };
}

/** Collects the outputs of one batch as a CalculationSink, encoding as they come. */
export class OutputCollector implements CalculationSink {
  readonly results: EncodedOutput[] = [];
  readonly archive: EncodedOutput[] = [];
  readonly rejections: Rejection[] = [];
  readonly corrections: CorrectionRequest[] = [];
  readonly counts: BatchCounts = { in: 0, accepted: 0, rejected: 0, duplicates: 0 };

  reading(result: ReadingResult, eventMs: number): void {
    this.results.push(encodeOutput(result, eventMs));
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
        `${prefixes.of(tsMs)}"kind":"raw","id":"${id}","deviceId":"${deviceId}","seq":${seq},` +
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
    };
  }
}
