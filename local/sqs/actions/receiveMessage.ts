import { randomUUID } from 'node:crypto';
import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import {
  attribute,
  encodeReceiptHandle,
  expire,
  type MessageAttributeValue,
  md5OfAttributes,
  type QueueState,
  queueByArn,
  queueByUrl,
  redrivePolicyOf,
  type SqsContext,
  type StoredMessage,
} from '../queues.ts';

export async function receiveMessage(context: SqsContext, input: JsonObject): Promise<JsonObject> {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  const maxMessages = fields.optionalInteger('MaxNumberOfMessages', 1, 10) ?? 1;
  const visibilitySeconds = fields.optionalInteger('VisibilityTimeout', 0, 43_200);
  const waitSeconds =
    fields.optionalInteger('WaitTimeSeconds', 0, 20) ?? attribute(queue, 'ReceiveMessageWaitTimeSeconds');
  // AttributeNames is the deprecated spelling of MessageSystemAttributeNames; SDKs still send either.
  const systemNames = new Set([
    ...(fields.optionalStringArray('MessageSystemAttributeNames') ?? []),
    ...(fields.optionalStringArray('AttributeNames') ?? []),
  ]);
  const attributeNames = fields.optionalStringArray('MessageAttributeNames') ?? [];

  const deadline = context.now() + waitSeconds * 1000;
  for (;;) {
    expire(context, queue);
    const received = take(
      context,
      queue,
      maxMessages,
      visibilitySeconds ?? attribute(queue, 'VisibilityTimeout'),
    );
    const remainingMs = deadline - context.now();
    if (received.length > 0 || remainingMs <= 0 || context.stopped.aborted) {
      return received.length === 0
        ? {}
        : { Messages: received.map((message) => render(queue, message, systemNames, attributeNames)) };
    }
    // Long polling: sleep until a send, a visibility change, the next message turning visible, or the deadline.
    const nextVisibleMs =
      queue.messages.reduce((earliest, m) => Math.min(earliest, m.visibleAtMs), Number.POSITIVE_INFINITY) -
      context.now();
    await context.waitForChange(queue.name, Math.max(1, Math.min(remainingMs, nextVisibleMs)));
  }
}

function take(
  context: SqsContext,
  queue: QueueState,
  max: number,
  visibilitySeconds: number,
): StoredMessage[] {
  const now = context.now();
  const redrive = redrivePolicyOf(queue);
  const deadLetterQueue =
    redrive === undefined ? undefined : queueByArn(context, redrive.deadLetterTargetArn);
  const received: StoredMessage[] = [];
  for (const message of [...queue.messages]) {
    if (received.length >= max) break;
    if (message.visibleAtMs > now) continue;
    // SQS moves a message instead of delivering it once it has been received maxReceiveCount times.
    if (
      redrive !== undefined &&
      deadLetterQueue !== undefined &&
      message.receiveCount >= redrive.maxReceiveCount
    ) {
      queue.messages.splice(queue.messages.indexOf(message), 1);
      message.visibleAtMs = now;
      message.deadLetterSourceArn = queue.arn;
      delete message.receiptNonce;
      deadLetterQueue.messages.push(message);
      context.notify(deadLetterQueue.name);
      context.store.changed();
      continue;
    }
    message.receiveCount += 1;
    message.firstReceiveMs ??= now;
    message.visibleAtMs = now + visibilitySeconds * 1000;
    message.receiptNonce = randomUUID();
    received.push(message);
    context.store.changed();
  }
  return received;
}

function render(
  queue: QueueState,
  message: StoredMessage,
  systemNames: ReadonlySet<string>,
  attributeNames: readonly string[],
): JsonObject {
  const output: JsonObject = {
    MessageId: message.messageId,
    ReceiptHandle: encodeReceiptHandle(queue, message),
    MD5OfBody: message.md5OfBody,
    Body: message.body,
  };
  const system: Record<string, string> = {
    SenderId: 'AIDALOCALSTANDIN',
    SentTimestamp: String(message.sentMs),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveMs ?? message.sentMs),
  };
  if (message.deadLetterSourceArn !== undefined)
    system.DeadLetterQueueSourceArn = message.deadLetterSourceArn;
  const selectedSystem = Object.fromEntries(
    Object.entries(system).filter(([name]) => systemNames.has('All') || systemNames.has(name)),
  );
  if (Object.keys(selectedSystem).length > 0) output.Attributes = selectedSystem;

  const selected: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.messageAttributes ?? {})) {
    const wanted = attributeNames.some(
      (pattern) =>
        pattern === 'All' ||
        pattern === '.*' ||
        pattern === name ||
        (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))),
    );
    if (wanted) selected[name] = value;
  }
  if (Object.keys(selected).length > 0) {
    output.MessageAttributes = selected;
    output.MD5OfMessageAttributes = md5OfAttributes(selected);
  }
  return output;
}
