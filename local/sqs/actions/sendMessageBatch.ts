import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { batchEntries, entryFailure } from '../batch.ts';
import {
  enqueue,
  type MessageAttributeValue,
  type NewMessage,
  queueByUrl,
  type SqsContext,
  validateMessage,
} from '../queues.ts';

/** SQS caps the whole batch at the single-message limit (256 KiB), checked before any entry is stored. */
const MAX_BATCH_BYTES = 262_144;

export function sendMessageBatch(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  const entries = batchEntries(fields);

  const Successful: JsonObject[] = [];
  const Failed: JsonObject[] = [];
  const accepted: Array<{ id: string; message: NewMessage }> = [];
  let totalBytes = 0;
  for (const entry of entries) {
    const id = entry.string('Id');
    try {
      const message: NewMessage = {
        body: entry.string('MessageBody'),
        delaySeconds: entry.optionalInteger('DelaySeconds', 0, 900),
        messageAttributes: entry.optionalObject('MessageAttributes') as
          | Record<string, MessageAttributeValue>
          | undefined,
      };
      totalBytes += validateMessage(queue, message);
      accepted.push({ id, message });
    } catch (error) {
      Failed.push(entryFailure(id, error));
    }
  }
  if (totalBytes > MAX_BATCH_BYTES) {
    throw new ServiceError(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${totalBytes} bytes.`,
    );
  }
  for (const { id, message } of accepted) {
    const stored = enqueue(context, queue, message);
    Successful.push({
      Id: id,
      MessageId: stored.messageId,
      MD5OfMessageBody: stored.md5OfBody,
      ...(stored.md5OfMessageAttributes === undefined
        ? {}
        : { MD5OfMessageAttributes: stored.md5OfMessageAttributes }),
    });
  }
  return { Successful, Failed };
}
