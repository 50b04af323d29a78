import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { type FirehoseContext, streamByName } from '../streams.ts';

/** Buffered records of a deleted stream are discarded, as in Firehose. */
export function deleteDeliveryStream(context: FirehoseContext, input: JsonObject): JsonObject {
  const stream = streamByName(context, new Fields(input, 'ValidationException').string('DeliveryStreamName'));
  delete context.store.state.streams[stream.name];
  context.store.changed();
  return {};
}
