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

/** A positive integer from an SQS attribute (numbers arrive as strings), or undefined. */
function count(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * A Lambda record as the service's `Received`, as if the service had received it itself. Lambda always
 * sends the system attributes; when they are missing or not numbers the record is read as the service's
 * own receive would read a message without them (first receive, sent at 0), and `problems` says so.
 * A body that is not a string is read as empty: the service dead-letters it as MALFORMED_REQUEST.
 */
export function receivedOf(record: SqsEventRecord): Received & { readonly problems: readonly string[] } {
  const problems: string[] = [];
  const attributes: Record<string, unknown> =
    typeof record.attributes === 'object' && record.attributes !== null ? record.attributes : {};
  if (attributes !== record.attributes) problems.push('attributes missing');
  const receiveCount = count(attributes.ApproximateReceiveCount);
  if (receiveCount === undefined || receiveCount < 1)
    problems.push(
      `ApproximateReceiveCount ${JSON.stringify(attributes.ApproximateReceiveCount)} is not a count`,
    );
  const sentAtMs = count(attributes.SentTimestamp);
  if (sentAtMs === undefined)
    problems.push(`SentTimestamp ${JSON.stringify(attributes.SentTimestamp)} is not epoch ms`);
  if (typeof record.body !== 'string') problems.push('body is not a string');
  return {
    body: typeof record.body === 'string' ? record.body : '',
    receiptHandle: typeof record.receiptHandle === 'string' ? record.receiptHandle : '',
    messageId: typeof record.messageId === 'string' ? record.messageId : '',
    receiveCount: receiveCount === undefined || receiveCount < 1 ? 1 : receiveCount,
    sentAtMs: sentAtMs ?? 0,
    problems,
  };
}
