/**
 * A Firehose delivery stream into S3 with dynamic partitioning on the `dt`/`hour` fields the encoder writes
 * into every line: the one shape of every delivery stream of the pipeline (the lake's results and raw
 * archive, a replay's own outputs), so they all split, partition and compress the same way.
 */
import { Duration, Size } from 'aws-cdk-lib';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { PARTITION_KEY_QUERIES, S3_PREFIXES } from '../../consumers/contract/layout.ts';

export interface DeliveryBuffering {
  /**
   * Firehose flushes a partition after this long. Shorter means fresher data and more, smaller objects.
   * Firehose allows 0–900 seconds.
   * @default Duration.seconds(300)
   */
  readonly interval?: Duration;
  /**
   * Firehose flushes a partition at this size. Dynamic partitioning requires at least 64 MiB.
   * @default Size.mebibytes(128)
   */
  readonly size?: Size;
}

export interface PartitionedDeliveryOptions {
  readonly name: string;
  readonly bucket: s3.IBucket;
  /** S3 prefix with Firehose's `!{partitionKeyFromQuery:dt}`/`hour` placeholders. */
  readonly prefix: string;
  /** @default S3_PREFIXES.errors */
  readonly errorPrefix?: string;
  /** Encrypts the delivery stream and the objects it writes. */
  readonly key: kms.IKey;
  /** @default { interval: 300 s, size: 128 MiB } */
  readonly buffering?: DeliveryBuffering;
}

export function partitionedDelivery(
  scope: Construct,
  id: string,
  options: PartitionedDeliveryOptions,
): firehose.DeliveryStream {
  const buffering = options.buffering ?? {};
  return new firehose.DeliveryStream(scope, id, {
    deliveryStreamName: options.name,
    // Consumers write with PutRecordBatch (direct put), so the stream itself must encrypt at rest.
    encryption: firehose.StreamEncryption.customerManagedKey(options.key),
    destination: new firehose.S3Bucket(options.bucket, {
      dataOutputPrefix: options.prefix,
      errorOutputPrefix: options.errorPrefix ?? S3_PREFIXES.errors,
      compression: firehose.Compression.GZIP,
      encryptionKey: options.key,
      bufferingInterval: buffering.interval ?? Duration.seconds(300),
      bufferingSize: buffering.size ?? Size.mebibytes(128),
      dynamicPartitioning: { enabled: true, retryDuration: Duration.seconds(300) },
      // Consumers pack many JSON lines into one record (consumers/sinks/firehose-sink.ts: Firehose bills
      // each record as at least 5 KB): split them, partition each, end each with a newline again.
      processors: [
        firehose.RecordDeAggregationProcessor.json(),
        firehose.MetadataExtractionProcessor.jq16({ ...PARTITION_KEY_QUERIES }),
        new firehose.AppendDelimiterToRecordProcessor(),
      ],
    }),
  });
}
