/**
 * The parts of the SQS event Lambda sends (and of its partial batch response) that the correction
 * functions read. https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
import type { Received } from '../queues.ts';

export interface SqsEventRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** SQS system attributes; numbers arrive as strings. */
  readonly attributes: {
    readonly ApproximateReceiveCount?: string;
    /** Epoch ms. */
    readonly SentTimestamp?: string;
  };
  readonly eventSourceARN?: string;
}

export interface SqsEvent {
  readonly Records: readonly SqsEventRecord[];
}

/** ReportBatchItemFailures: the messages SQS must deliver again; every other one is deleted by Lambda. */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** A Lambda record as the service's `Received`, as if the service had received it itself. */
export function receivedOf(record: SqsEventRecord): Received {
  return {
    body: record.body,
    receiptHandle: record.receiptHandle,
    messageId: record.messageId,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
    sentAtMs: Number(record.attributes.SentTimestamp ?? '0'),
  };
}
