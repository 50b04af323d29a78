/**
 * ResultSink / ArchiveSink over Firehose PutRecordBatch. A call can succeed while some of its records
 * fail (FailedPutCount > 0, ErrorCode per record, same order as the request): only those are sent again.
 * A re-sent record carries the same output ids, so a reader de-duplicates by id.
 *
 * By default many output lines travel in one Firehose record, which the delivery stream splits again
 * (its `RecordDeAggregation` processor, JSON sub-records, before partitioning and `AppendDelimiterToRecord`).
 * Firehose bills ingestion per record rounded up to 5 KB, and an output line is a few hundred bytes: one
 * line per record would pay for ten times the data it sends, and make ~20× the records to serialize.
 */
import {
  type _Record,
  type FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { FleetstreamError, PartialDeliveryError } from '../contract/errors.ts';
import type { EncodedOutput } from '../processor/types.ts';
import { type BatchLimits, chunkBySize } from './chunk.ts';
import type { OutputSink } from './ports.ts';
import { backoffDelayMs, isRetryableAwsError, sleep } from './retry.ts';

/** Firehose quotas: https://docs.aws.amazon.com/firehose/latest/dev/limits.html */
export const FIREHOSE_LIMITS: BatchLimits = {
  maxEntries: 500,
  maxBatchBytes: 4 * 1024 * 1024,
  maxEntryBytes: 1000 * 1024,
};

export interface FirehoseSinkOptions {
  readonly client: FirehoseClient;
  readonly deliveryStreamName: string;
  /** Attempts per chunk (the first send included) before PartialDeliveryError. @default 8 */
  readonly maxAttempts?: number;
  /** @default 100 (ms) */
  readonly baseDelayMs?: number;
  /** @default 5000 (ms) */
  readonly maxDelayMs?: number;
  /** Override for tests of the limits themselves. @default FIREHOSE_LIMITS */
  readonly limits?: BatchLimits;
  /** Called with each re-send, for metrics and tests. */
  readonly onRetry?: (info: { attempt: number; failed: number; cause?: unknown }) => void;
  /**
   * Pack output lines into Firehose records of up to this many bytes (and at most 500 lines, Firehose's
   * deaggregation cap); 0 sends one line per record, for a delivery stream that does not deaggregate.
   * @default 256 KiB
   */
  readonly aggregateBytes?: number;
}

/** Firehose splits at most this many sub-records out of one record. */
export const MAX_LINES_PER_RECORD = 500;

interface Pending {
  /** The first output id in the record, for error messages. */
  readonly id: string;
  readonly data: Uint8Array;
}

export function createFirehoseSink(options: FirehoseSinkOptions): OutputSink {
  const maxAttempts = options.maxAttempts ?? 8;
  const limits = options.limits ?? FIREHOSE_LIMITS;
  const backoff = { baseDelayMs: options.baseDelayMs ?? 100, maxDelayMs: options.maxDelayMs ?? 5000 };
  const sinkName = `firehose:${options.deliveryStreamName}`;
  const aggregateBytes = Math.min(options.aggregateBytes ?? 256 * 1024, limits.maxEntryBytes);

  async function sendChunk(chunk: Pending[]): Promise<void> {
    let pending = chunk;
    let lastCause: unknown;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) {
        options.onRetry?.({ attempt, failed: pending.length, cause: lastCause });
        await sleep(backoffDelayMs(attempt - 1, backoff));
      }
      let response: PutRecordBatchCommandOutput;
      try {
        const records: _Record[] = pending.map((entry) => ({ Data: entry.data }));
        response = await options.client.send(
          new PutRecordBatchCommand({ DeliveryStreamName: options.deliveryStreamName, Records: records }),
        );
      } catch (error) {
        if (!isRetryableAwsError(error)) {
          throw new FleetstreamError('SINK_REJECTED', `${sinkName}: PutRecordBatch failed`, { cause: error });
        }
        lastCause = error;
        continue;
      }
      if ((response.FailedPutCount ?? 0) === 0) return;
      const responses = response.RequestResponses ?? [];
      const failed = pending.filter((_, index) => responses[index]?.ErrorCode !== undefined);
      // A response that reports failures but does not say which is malformed; resend all rather than lose any.
      pending = failed.length === 0 ? pending : failed;
      const firstError = responses.find((entry) => entry.ErrorCode !== undefined);
      lastCause =
        firstError === undefined ? undefined : `${firstError.ErrorCode}: ${firstError.ErrorMessage ?? ''}`;
    }
    throw new PartialDeliveryError(sinkName, pending.length, { cause: lastCause });
  }

  return {
    async deliver(outputs) {
      if (outputs.length === 0) return;
      const { records, oversized } = pack(outputs, aggregateBytes, limits.maxEntryBytes);
      if (oversized.length > 0) {
        // Firehose can never accept these; retrying would wedge the shard, so fail loudly with the ids.
        throw new FleetstreamError(
          'OUTPUT_TOO_LARGE',
          `${sinkName}: ${oversized.length} outputs exceed ${limits.maxEntryBytes} bytes (first id ${oversized[0]?.id})`,
        );
      }
      const entries: Pending[] = records.map((lines) => ({
        id: lines[0]!.id,
        data: Buffer.from(lines.length === 1 ? lines[0]!.line : lines.map((l) => l.line).join('')),
      }));
      const { batches } = chunkBySize(entries, (entry) => entry.data.byteLength, limits);
      for (const batch of batches) await sendChunk(batch);
    },
  };
}

/**
 * Greedy, order-preserving packing of lines into records of up to `targetBytes` and MAX_LINES_PER_RECORD
 * lines; a longer line travels alone. Lines over `maxRecordBytes` can never be sent and come back apart.
 */
function pack(
  outputs: readonly EncodedOutput[],
  targetBytes: number,
  maxRecordBytes: number,
): { records: EncodedOutput[][]; oversized: EncodedOutput[] } {
  const records: EncodedOutput[][] = [];
  const oversized: EncodedOutput[] = [];
  let current: EncodedOutput[] = [];
  let currentBytes = 0;
  for (const output of outputs) {
    // UTF-8 bytes, what the record limit counts.
    const bytes = Buffer.byteLength(output.line);
    if (bytes > maxRecordBytes) {
      oversized.push(output);
      continue;
    }
    if (
      current.length > 0 &&
      (current.length === MAX_LINES_PER_RECORD || currentBytes + bytes > targetBytes)
    ) {
      records.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(output);
    currentBytes += bytes;
  }
  if (current.length > 0) records.push(current);
  return { records, oversized };
}
