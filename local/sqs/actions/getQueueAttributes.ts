import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry } from '../../wire/own.ts';
import { ATTRIBUTE_DEFAULTS, expire, type QueueState, queueByUrl, type SqsContext } from '../queues.ts';

function computed(context: SqsContext, queue: QueueState): Record<string, string> {
  const now = context.now();
  const delayed = queue.messages.filter((m) => m.receiveCount === 0 && m.visibleAtMs > now).length;
  const inFlight = queue.messages.filter((m) => m.receiveCount > 0 && m.visibleAtMs > now).length;
  return {
    ...ATTRIBUTE_DEFAULTS,
    ...queue.attributes,
    QueueArn: queue.arn,
    CreatedTimestamp: String(Math.floor(queue.createdMs / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.createdMs / 1000)),
    ApproximateNumberOfMessages: String(queue.messages.length - delayed - inFlight),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: String(delayed),
  };
}

export function getQueueAttributes(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  expire(context, queue);
  const requested = fields.optionalStringArray('AttributeNames') ?? [];
  const all = computed(context, queue);
  if (requested.includes('All')) return { Attributes: all };
  const selected: Record<string, string> = {};
  for (const name of requested) {
    const value = ownEntry(all, name);
    if (value === undefined && !Object.hasOwn(ATTRIBUTE_DEFAULTS, name) && name !== 'RedrivePolicy') {
      throw new ServiceError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    if (value !== undefined) selected[name] = value;
  }
  return Object.keys(selected).length === 0 ? {} : { Attributes: selected };
}
