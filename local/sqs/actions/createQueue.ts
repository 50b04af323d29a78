import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry, setOwnEntry } from '../../wire/own.ts';
import { queueUrl, type SqsContext, validateAttributes } from '../queues.ts';

export function createQueue(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const name = fields.string('QueueName');
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    // FIFO queues (.fifo) are not modelled: the pipeline's DLQs are standard queues.
    throw new ServiceError(
      'InvalidParameterValue',
      'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
    );
  }
  const attributes = validateAttributes(fields.optionalObject('Attributes') ?? {});
  const existing = ownEntry(context.store.state.queues, name);
  if (existing !== undefined) {
    // SQS's CreateQueue is idempotent only when every given attribute matches the existing queue.
    for (const [key, value] of Object.entries(attributes)) {
      if (existing.attributes[key] !== value) {
        throw new ServiceError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute ${key}`,
        );
      }
    }
    return { QueueUrl: queueUrl(context, name) };
  }
  setOwnEntry(context.store.state.queues, name, {
    name,
    arn: `arn:aws:sqs:${context.region}:${context.accountId}:${name}`,
    createdMs: context.now(),
    attributes,
    messages: [],
  });
  context.store.changed();
  return { QueueUrl: queueUrl(context, name) };
}
