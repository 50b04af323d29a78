/**
 * The correction queue and its dead-letter queue (SQS). Created idempotently at start-up; the request
 * queue redrives to the DLQ after `maxReceiveCount` receives, so even a message that crashes every
 * handler ends in the DLQ instead of circling forever.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PartialDeliveryError } from '../../consumers/contract/errors.ts';
import type { CorrectionRequest } from '../../consumers/contract/outputs.ts';
import {
  type CorrectionMessage,
  type DeadLetter,
  encodeCorrectionMessage,
  MESSAGE_VERSION,
} from './messages.ts';
import { CORRECTION_NAMES, type DeadLetterReason } from './names.ts';

export interface CorrectionQueueNames {
  /** @default 'fleetstream-corrections' */
  readonly queue?: string;
  /** @default 'fleetstream-corrections-dlq' */
  readonly deadLetterQueue?: string;
  /** Receives of one request before SQS itself moves it to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
}

export interface CorrectionQueueUrls {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

export async function ensureCorrectionQueues(
  sqs: SQSClient,
  names: CorrectionQueueNames = {},
): Promise<CorrectionQueueUrls> {
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: names.deadLetterQueue ?? CORRECTION_NAMES.deadLetterQueue }),
  );
  const { Attributes: dlqAttributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: names.queue ?? CORRECTION_NAMES.queue,
      Attributes: {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttributes?.QueueArn,
          maxReceiveCount: names.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

/** SendMessageBatch takes at most 10 entries (SQS quota). */
const SQS_BATCH = 10;

/** Sends correction requests; resolves only when SQS accepted every one. */
export async function sendCorrectionRequests(
  sqs: SQSClient,
  queueUrl: string,
  requests: readonly { readonly request: CorrectionRequest; readonly eventMs: number }[],
): Promise<void> {
  for (let i = 0; i < requests.length; i += SQS_BATCH) {
    const chunk = requests.slice(i, i + SQS_BATCH);
    const response = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((r, j) => ({
          Id: String(j),
          MessageBody: encodeCorrectionMessage(r.request, r.eventMs),
        })),
      }),
    );
    const failed = response.Failed?.length ?? 0;
    if (failed > 0) throw new PartialDeliveryError(`sqs:${queueUrl}`, failed);
  }
}

export async function sendMessage(sqs: SQSClient, queueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

export async function sendDeadLetter(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  letter: {
    readonly reason: DeadLetterReason;
    readonly original: string;
    readonly message?: CorrectionMessage;
    readonly error?: { readonly code: string; readonly message: string };
    readonly nowMs: number;
  },
): Promise<void> {
  const body: DeadLetter = {
    v: MESSAGE_VERSION,
    reason: letter.reason,
    original: letter.original,
    ...(letter.message === undefined ? {} : { message: letter.message }),
    ...(letter.error === undefined ? {} : { error: letter.error }),
    deadLetteredAtMs: letter.nowMs,
  };
  await sendMessage(sqs, deadLetterQueueUrl, JSON.stringify(body));
}

export interface Received {
  readonly body: string;
  readonly receiptHandle: string;
  readonly messageId: string;
  /** SQS ApproximateReceiveCount: this receive included. */
  readonly receiveCount: number;
  readonly sentAtMs: number;
}

export async function receive(
  sqs: SQSClient,
  queueUrl: string,
  options: { readonly max?: number; readonly waitSeconds?: number; readonly visibilitySeconds?: number } = {},
): Promise<Received[]> {
  const { Messages: messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.max ?? 10,
      WaitTimeSeconds: options.waitSeconds ?? 0,
      ...(options.visibilitySeconds === undefined ? {} : { VisibilityTimeout: options.visibilitySeconds }),
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    }),
  );
  return (messages ?? []).map(toReceived);
}

function toReceived(m: Message): Received {
  return {
    body: m.Body ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    messageId: m.MessageId ?? '',
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
    sentAtMs: Number(m.Attributes?.SentTimestamp ?? '0'),
  };
}

export async function acknowledge(sqs: SQSClient, queueUrl: string, message: Received): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.receiptHandle }));
}

/** Hides a message for `seconds` (backoff before the next attempt); 0 makes it visible again at once. */
export async function postpone(
  sqs: SQSClient,
  queueUrl: string,
  message: Received,
  seconds: number,
): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: message.receiptHandle,
      VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
    }),
  );
}

/** Visible plus in-flight messages (SQS approximations). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes: a } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a?.ApproximateNumberOfMessages ?? '0') + Number(a?.ApproximateNumberOfMessagesNotVisible ?? '0')
  );
}
