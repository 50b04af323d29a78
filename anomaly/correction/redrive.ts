/**
 * Operator actions after a fix: put a stored failure or a dead letter back on the correction queue.
 * `force` lets the handler correct an item that already had its one automatic correction; the history
 * records the redrive, so a second version is always traceable to a person's decision.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { readFailure } from './failures.ts';
import type { CorrectionMessage } from './messages.ts';
import { parseCorrectionMessage, parseDeadLetter, requestKey } from './messages.ts';
import { acknowledge, postpone, type Received, receive, sendMessage } from './queues.ts';
import type { S3Store } from './s3-store.ts';

export interface RedriveOptions {
  readonly force: boolean;
  readonly nowMs: number;
}

function redriven(message: CorrectionMessage, options: RedriveOptions): string {
  return JSON.stringify({ ...message, redrive: { force: options.force, atMs: options.nowMs } });
}

/** Re-queues one stored failure and removes it from failure storage; returns the request key. */
export async function redriveFailure(
  store: S3Store,
  sqs: SQSClient,
  queueUrl: string,
  key: string,
  options: RedriveOptions,
): Promise<string> {
  const failure = await readFailure(store, key);
  const original = Buffer.from(failure.originalBase64, 'base64').toString('utf8');
  const parsed =
    failure.message === undefined
      ? parseCorrectionMessage(original)
      : { ok: true as const, value: failure.message };
  if (!parsed.ok)
    throw new Error(`failure ${key} holds no correction request (${parsed.message}); it cannot be redriven`);
  await sendMessage(sqs, queueUrl, redriven(parsed.value, options));
  await store.delete(key);
  return requestKey(parsed.value.request);
}

/**
 * Moves dead letters whose request key or request id is in `ids` back to the correction queue.
 * Reads the whole DLQ once; the messages it leaves are made visible again when it is done.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  queueUrl: string,
  ids: ReadonlySet<string>,
  options: RedriveOptions,
): Promise<string[]> {
  const moved: string[] = [];
  const left: Received[] = [];
  for (;;) {
    const batch = await receive(sqs, deadLetterQueueUrl, { max: 10, visibilitySeconds: 30 });
    if (batch.length === 0) break;
    for (const received of batch) {
      const letter = parseDeadLetter(received.body);
      const message = letter.ok ? letter.value.message : undefined;
      if (message !== undefined && (ids.has(requestKey(message.request)) || ids.has(message.request.id))) {
        await sendMessage(sqs, queueUrl, redriven(message, options));
        await acknowledge(sqs, deadLetterQueueUrl, received);
        moved.push(requestKey(message.request));
      } else {
        left.push(received);
      }
    }
  }
  for (const received of left) await postpone(sqs, deadLetterQueueUrl, received, 0);
  return moved;
}
