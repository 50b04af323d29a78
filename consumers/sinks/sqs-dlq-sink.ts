/**
 * DlqSink over SQS SendMessageBatch. Each message is the Rejection as JSON (reason code, message,
 * original bytes in base64); the reason code is also a message attribute so a consumer can filter
 * without parsing the body. Failed entries (the response's `Failed` list) are the only ones re-sent.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { FleetstreamError, PartialDeliveryError } from '../contract/errors.ts';
import type { Rejection } from '../contract/outputs.ts';
import { type BatchLimits, chunkBySize } from './chunk.ts';
import type { DlqSink } from './ports.ts';
import { backoffDelayMs, isRetryableAwsError, sleep } from './retry.ts';

/** SQS quotas: 10 entries per batch, 256 KiB per message and per batch (the classic limit, kept as default). */
export const SQS_LIMITS: BatchLimits = {
  maxEntries: 10,
  maxBatchBytes: 256 * 1024,
  maxEntryBytes: 256 * 1024,
};

export interface SqsDlqSinkOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** @default 8 */
  readonly maxAttempts?: number;
  /** @default 100 (ms) */
  readonly baseDelayMs?: number;
  /** @default 5000 (ms) */
  readonly maxDelayMs?: number;
  /** @default SQS_LIMITS */
  readonly limits?: BatchLimits;
}

/** Room left in a message for attributes and the JSON around the raw bytes. */
const ENVELOPE_ALLOWANCE = 4 * 1024;

/**
 * The message body. A raw record too large for one message keeps its head and says so: the DLQ entry
 * still carries the reason and enough bytes to recognise the record (never a silent drop).
 */
export function dlqMessageBody(rejection: Rejection, maxBytes: number): string {
  const full = JSON.stringify(rejection);
  if (Buffer.byteLength(full) <= maxBytes) return full;
  const room = Math.max(0, maxBytes - ENVELOPE_ALLOWANCE - Buffer.byteLength(rejection.message));
  // Cut on a 4-character boundary so the kept prefix is still valid base64.
  const keep = room - (room % 4);
  return JSON.stringify({
    ...rejection,
    rawBase64: rejection.rawBase64.slice(0, keep),
    rawTruncated: true,
    rawBase64Length: rejection.rawBase64.length,
  });
}

export function createSqsDlqSink(options: SqsDlqSinkOptions): DlqSink {
  const maxAttempts = options.maxAttempts ?? 8;
  const limits = options.limits ?? SQS_LIMITS;
  const backoff = { baseDelayMs: options.baseDelayMs ?? 100, maxDelayMs: options.maxDelayMs ?? 5000 };

  async function sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    let lastCause: unknown;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(backoffDelayMs(attempt - 1, backoff));
      try {
        const response = await options.client.send(
          new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: pending }),
        );
        const failedIds = new Set((response.Failed ?? []).map((entry) => entry.Id));
        if (failedIds.size === 0) return;
        pending = pending.filter((entry) => failedIds.has(entry.Id));
        lastCause = response.Failed?.[0];
      } catch (error) {
        if (!isRetryableAwsError(error)) {
          throw new FleetstreamError('SINK_REJECTED', `sqs: SendMessageBatch failed`, { cause: error });
        }
        lastCause = error;
      }
    }
    throw new PartialDeliveryError('sqs-dlq', pending.length, { cause: lastCause });
  }

  return {
    async send(rejections) {
      if (rejections.length === 0) return;
      const bodyLimit = limits.maxEntryBytes - ENVELOPE_ALLOWANCE / 4;
      // Batch entry ids only allow [A-Za-z0-9_-]{1,80}; rejection ids contain ':' so use positions.
      const entries: SendMessageBatchRequestEntry[] = rejections.map((rejection, index) => ({
        Id: `r${index}`,
        MessageBody: dlqMessageBody(rejection, bodyLimit),
        MessageAttributes: {
          reasonCode: { DataType: 'String', StringValue: rejection.reason },
          rejectionId: { DataType: 'String', StringValue: rejection.id },
        },
      }));
      const { batches, oversized } = chunkBySize(
        entries,
        (entry) => Buffer.byteLength(entry.MessageBody ?? '') + 512,
        limits,
      );
      if (oversized.length > 0) {
        throw new FleetstreamError('OUTPUT_TOO_LARGE', `sqs: ${oversized.length} DLQ messages too large`);
      }
      for (const batch of batches) await sendBatch(batch);
    },
  };
}
