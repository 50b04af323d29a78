import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { queueByUrl, type SqsContext, validateBatchIds } from '../queues.ts';
import { deleteByHandle } from './deleteMessage.ts';

export function deleteMessageBatch(context: SqsContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'InvalidParameterValue');
  const queue = queueByUrl(context, fields.string('QueueUrl'));
  const entries = fields.array('Entries').map((entry, index) => fields.nested(entry, `Entries.${index + 1}`));
  validateBatchIds(entries.map((entry) => entry.input));
  const Successful: JsonObject[] = [];
  const Failed: JsonObject[] = [];
  for (const entry of entries) {
    const id = entry.string('Id');
    try {
      deleteByHandle(context, queue, entry.string('ReceiptHandle'));
      Successful.push({ Id: id });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      Failed.push({ Id: id, SenderFault: true, Code: error.type, Message: error.message });
    }
  }
  return { Successful, Failed };
}
