import { randomUUID } from 'node:crypto';
import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { bufferRecord, decodeRecordData, type FirehoseContext, streamByName } from '../streams.ts';

export function putRecord(context: FirehoseContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const stream = streamByName(context, fields.string('DeliveryStreamName'));
  const data = decodeRecordData(fields.object('Record'), 'record');
  // A single-record call has no per-record status, so an injected failure fails the whole call.
  const failure = context.injectedFailure(stream.name, data);
  if (failure !== undefined) throw new ServiceError(failure, 'Slow down.', 503);
  bufferRecord(context, stream, data);
  context.deliverFull(stream);
  return { RecordId: randomUUID(), Encrypted: false };
}
