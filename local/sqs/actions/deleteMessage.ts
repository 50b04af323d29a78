import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { decodeReceiptHandle, type QueueState, queueByUrl, type SqsContext } from '../queues.ts';

/**
 * Deleting is idempotent in SQS: a handle for a message already gone succeeds. A stale handle of a
 * message received again still deletes it (standard queues behave so in practice).
 */
export function deleteByHandle(context: SqsContext, queue: QueueState, handle: string): void {
  const { queueName, messageId } = decodeReceiptHandle(handle);
  if (queueName !== queue.name) {
    throw new ServiceError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
    );
  }
  const index = queue.messages.findIndex((message) => message.messageId === messageId);
  if (index < 0) return;
  queue.messages.splice(index, 1);
  context.store.changed();
}

export function deleteMessage(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  deleteByHandle(context, queue, fields.string('ReceiptHandle'));
  return {};
}
