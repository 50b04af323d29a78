import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import type { FirehoseContext } from '../streams.ts';

export function listDeliveryStreams(context: FirehoseContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const limit = fields.optionalInteger('Limit', 1, 10_000) ?? 10;
  const start = fields.optionalString('ExclusiveStartDeliveryStreamName');
  const names = Object.keys(context.store.state.streams)
    .sort()
    .filter((name) => start === undefined || name > start);
  return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
}
