import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { queueByUrl, type SqsContext } from '../queues.ts';

export function purgeQueue(context: SqsContext, input: JsonObject): JsonObject {
  const queue = queueByUrl(context, new Fields(input, 'InvalidParameterValue').string('QueueUrl'));
  queue.messages = [];
  context.store.changed();
  return {};
}
