import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import {
  enqueue,
  type MessageAttributeValue,
  queueByUrl,
  type SqsContext,
  validateMessage,
} from '../queues.ts';

export function sendMessage(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  const message = {
    body: fields.string('MessageBody'),
    delaySeconds: fields.optionalInteger('DelaySeconds', 0, 900),
    messageAttributes: fields.optionalObject('MessageAttributes') as
      | Record<string, MessageAttributeValue>
      | undefined,
  };
  validateMessage(queue, message);
  const stored = enqueue(context, queue, message);
  return {
    MessageId: stored.messageId,
    MD5OfMessageBody: stored.md5OfBody,
    ...(stored.md5OfMessageAttributes === undefined
      ? {}
      : { MD5OfMessageAttributes: stored.md5OfMessageAttributes }),
  };
}
