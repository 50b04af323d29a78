import { randomUUID } from 'node:crypto';
import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { bufferRecord, decodeRecordData, type FirehoseContext, LIMITS, streamByName } from '../streams.ts';

export function putRecordBatch(context: FirehoseContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const stream = streamByName(context, fields.string('DeliveryStreamName'));
  const records = fields.array('Records');
  if (records.length < 1 || records.length > LIMITS.maxRecordsPerBatch) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length ${records.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${LIMITS.maxRecordsPerBatch}`}`,
    );
  }
  const payloads = records.map((record, index) => decodeRecordData(record, `records.${index + 1}.member`));
  const totalBytes = payloads.reduce((sum, payload) => sum + payload.length, 0);
  if (totalBytes > LIMITS.maxRequestBytes) {
    throw new ServiceError(
      'InvalidArgumentException',
      `Records size exceeds ${LIMITS.maxRequestBytes} bytes limit: ${totalBytes} bytes in the request`,
    );
  }
  // Each record succeeds or fails on its own; the call is still a 200 and the caller retries the failed ones.
  let failed = 0;
  const responses = payloads.map((data) => {
    const failure = context.injectedFailure(stream.name, data);
    if (failure !== undefined) {
      failed += 1;
      return { ErrorCode: failure, ErrorMessage: 'Slow down.' };
    }
    bufferRecord(context, stream, data);
    return { RecordId: randomUUID() };
  });
  context.deliverFull(stream);
  return { FailedPutCount: failed, Encrypted: false, RequestResponses: responses };
}
