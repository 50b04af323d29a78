/**
 * ResultSink / ArchiveSink over Firehose PutRecordBatch. A call can succeed while some of its records
 * fail (FailedPutCount > 0, ErrorCode per record, same order as the request): only those are sent again.
 * A re-sent record carries the same output id, so a reader de-duplicates by id.
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
}

interface Pending {
  readonly id: string;
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();

export function createFirehoseSink(options: FirehoseSinkOptions): OutputSink {
  const maxAttempts = options.maxAttempts ?? 8;
  const limits = options.limits ?? FIREHOSE_LIMITS;
  const backoff = { baseDelayMs: options.baseDelayMs ?? 100, maxDelayMs: options.maxDelayMs ?? 5000 };
  const sinkName = `firehose:${options.deliveryStreamName}`;

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
      const entries: Pending[] = outputs.map((output: EncodedOutput) => ({
        id: output.id,
        data: encoder.encode(output.line),
      }));
      const { batches, oversized } = chunkBySize(entries, (entry) => entry.data.byteLength, limits);
      if (oversized.length > 0) {
        // Firehose can never accept these; retrying would wedge the shard, so fail loudly with the ids.
        throw new FleetstreamError(
          'OUTPUT_TOO_LARGE',
          `${sinkName}: ${oversized.length} outputs exceed ${limits.maxEntryBytes} bytes (first id ${oversized[0]?.id})`,
        );
      }
      for (const batch of batches) await sendChunk(batch);
    },
  };
}
