import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry } from '../../wire/own.ts';
import { queueUrl, type SqsContext } from '../queues.ts';

export function getQueueUrl(context: SqsContext, input: JsonObject): JsonObject {
  const name = new Fields(input, 'InvalidParameterValue').string('QueueName');
  if (ownEntry(context.store.state.queues, name) === undefined) {
    throw new ServiceError('QueueDoesNotExist', 'The specified queue does not exist.');
  }
  return { QueueUrl: queueUrl(context, name) };
}
