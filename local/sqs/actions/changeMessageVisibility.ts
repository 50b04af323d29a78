import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { decodeReceiptHandle, queueByUrl, type SqsContext } from '../queues.ts';

export function changeMessageVisibility(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  const handle = fields.string('ReceiptHandle');
  const visibilitySeconds = fields.optionalInteger('VisibilityTimeout', 0, 43_200);
  if (visibilitySeconds === undefined) {
    throw new ServiceError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
  }
  const { queueName, messageId, nonce } = decodeReceiptHandle(handle);
  const message = queue.messages.find((m) => m.messageId === messageId);
  if (queueName !== queue.name || message === undefined) {
    throw new ServiceError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
    );
  }
  // Only the latest receive of a message that is still invisible can change its timeout.
  if (message.receiptNonce !== nonce || message.visibleAtMs <= context.now()) {
    throw new ServiceError('MessageNotInflight', 'The message referred to is not in flight.');
  }
  message.visibleAtMs = context.now() + visibilitySeconds * 1000;
  context.store.changed();
  context.notify(queue.name);
  return {};
}
