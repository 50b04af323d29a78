/** What SQS's *Batch actions share: the entry list rules and the per-entry failure shape. */
import type { Fields } from '../wire/fields.ts';
import { type JsonObject, ServiceError } from '../wire/json-server.ts';
import { validateBatchIds } from './queues.ts';

/** The request's `Entries`, each as Fields, after SQS's batch rules (1–10 entries, distinct valid Ids). */
export function batchEntries(fields: Fields): Fields[] {
  const entries = fields.array('Entries').map((entry, index) => fields.nested(entry, `Entries.${index + 1}`));
  validateBatchIds(entries.map((entry) => entry.input));
  return entries;
}

/**
 * A failed entry as SQS reports it. A bad entry fails alone and the batch call still succeeds (HTTP 200);
 * anything but a ServiceError is a bug and is rethrown.
 */
export function entryFailure(id: string, error: unknown): JsonObject {
  if (!(error instanceof ServiceError)) throw error;
  return { Id: id, SenderFault: true, Code: error.type, Message: error.message };
}
