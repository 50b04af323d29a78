import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { batchEntries, entryFailure } from '../batch.ts';
import { queueByUrl, type SqsContext } from '../queues.ts';
import { deleteByHandle } from './deleteMessage.ts';

export function deleteMessageBatch(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  const entries = batchEntries(fields);
  const Successful: JsonObject[] = [];
  const Failed: JsonObject[] = [];
  for (const entry of entries) {
    const id = entry.string('Id');
    try {
      deleteByHandle(context, queue, entry.string('ReceiptHandle'));
      Successful.push({ Id: id });
    } catch (error) {
      Failed.push(entryFailure(id, error));
    }
  }
  return { Successful, Failed };
}
