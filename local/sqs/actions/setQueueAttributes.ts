import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { queueByUrl, type SqsContext, validateAttributes } from '../queues.ts';

export function setQueueAttributes(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  Object.assign(queue.attributes, validateAttributes(fields.object('Attributes')));
  context.store.changed();
  return {};
}
