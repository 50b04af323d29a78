import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { type FirehoseContext, streamByName } from '../streams.ts';

export function describeDeliveryStream(context: FirehoseContext, input: JsonObject): JsonObject {
  const stream = streamByName(context, new Fields(input, 'ValidationException').string('DeliveryStreamName'));
  return {
    DeliveryStreamDescription: {
      DeliveryStreamName: stream.name,
      DeliveryStreamARN: stream.arn,
      // Local streams are usable at once; AWS keeps them CREATING for a while.
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: 'DirectPut',
      VersionId: String(stream.version),
      CreateTimestamp: stream.createdMs / 1000,
      Destinations: [
        {
          DestinationId: 'destinationId-000000000001',
          ExtendedS3DestinationDescription: stream.destination.described,
        },
      ],
      HasMoreDestinations: false,
    },
  };
}
