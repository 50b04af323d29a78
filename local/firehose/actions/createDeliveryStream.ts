import { decodeStrictBase64 } from '../../../consumers/contract/base64.ts';
import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry, setOwnEntry } from '../../wire/own.ts';
import type { SubRecordType } from '../deaggregation.ts';
import {
  DEFAULT_PREFIX,
  type ExtractionQuery,
  parseExtractionQuery,
  partitionKeysInPrefix,
} from '../partitioning.ts';
import type { DestinationConfig, FirehoseContext } from '../streams.ts';

const MiB = 1024 * 1024;

function invalid(message: string): never {
  throw new ServiceError('InvalidArgumentException', message);
}

function parseDestination(fields: Fields): DestinationConfig {
  const extended = fields.optionalObject('ExtendedS3DestinationConfiguration');
  const plain = fields.optionalObject('S3DestinationConfiguration');
  const others = Object.keys(fields.input).filter(
    (key) => key.endsWith('DestinationConfiguration') && !key.includes('S3'),
  );
  if (others.length > 0)
    invalid(`only S3 destinations are supported by the local stand-in, not ${others.join(', ')}`);
  if ((extended === undefined) === (plain === undefined))
    invalid('exactly one S3 destination configuration is required');
  const config = new Fields((extended ?? plain)!, 'ValidationException');
  config.string('RoleARN', { min: 1, max: 512, pattern: /^arn:.*:iam::\d{12}:role\/\S+$/ });
  const bucketArn = config.string('BucketARN', { min: 1, max: 2048, pattern: /^arn:.*:s3:::[\w.-]+$/ });
  const hints = config.nested(config.optionalObject('BufferingHints') ?? {}, 'BufferingHints');
  const compression = config.optionalString('CompressionFormat') ?? 'UNCOMPRESSED';
  if (compression !== 'UNCOMPRESSED' && compression !== 'GZIP') {
    invalid(`CompressionFormat ${compression} is not supported by the local stand-in (UNCOMPRESSED, GZIP)`);
  }
  const dynamic = config.nested(
    config.optionalObject('DynamicPartitioningConfiguration') ?? {},
    'DynamicPartitioningConfiguration',
  );
  const dynamicEnabled = dynamic.optionalBoolean('Enabled') ?? false;
  const prefix = config.optionalString('Prefix', { max: 1024 }) ?? DEFAULT_PREFIX;
  const errorOutputPrefix = config.optionalString('ErrorOutputPrefix', { max: 1024 });

  let extractionQuery: ExtractionQuery | undefined;
  let appendDelimiter = false;
  let deaggregation: SubRecordType | undefined;
  const processing = config.nested(
    config.optionalObject('ProcessingConfiguration') ?? {},
    'ProcessingConfiguration',
  );
  if (processing.optionalBoolean('Enabled') ?? false) {
    for (const processor of processing.optionalArray('Processors') ?? []) {
      const p = processing.nested(processor, 'Processor');
      const type = p.string('Type');
      const parameters = (p.optionalArray('Parameters') ?? []).map((parameter) =>
        p.nested(parameter, 'Parameter'),
      );
      const parameter = (name: string) =>
        parameters.find((entry) => entry.string('ParameterName') === name)?.string('ParameterValue');
      if (type === 'MetadataExtraction') {
        const query = parameter('MetadataExtractionQuery');
        if (query === undefined) invalid('MetadataExtraction needs a MetadataExtractionQuery');
        const parsed = parseExtractionQuery(query);
        if (typeof parsed === 'string') invalid(parsed);
        extractionQuery = parsed;
      } else if (type === 'AppendDelimiterToRecord') {
        appendDelimiter = true;
      } else if (type === 'RecordDeAggregation') {
        const subRecordType = parameter('SubRecordType');
        if (subRecordType === 'JSON') deaggregation = { type: 'JSON' };
        else if (subRecordType === 'DELIMITED') {
          const delimiter = parameter('Delimiter');
          if (delimiter === undefined || delimiter === '')
            invalid('RecordDeAggregation DELIMITED needs a Delimiter');
          // The API takes the delimiter base64-encoded; anything else would decode to some other delimiter.
          if (decodeStrictBase64(delimiter) === undefined)
            invalid(`RecordDeAggregation Delimiter must be base64-encoded, got '${delimiter}'`);
          deaggregation = { type: 'DELIMITED', delimiter: Buffer.from(delimiter, 'base64').toString() };
        } else invalid(`RecordDeAggregation SubRecordType must be JSON or DELIMITED, got ${subRecordType}`);
      } else {
        invalid(`processor ${type} is not supported by the local stand-in`);
      }
    }
  }

  const bufferSizeMiB = hints.optionalInteger('SizeInMBs', 1, 128) ?? (dynamicEnabled ? 128 : 5);
  const intervalSeconds = hints.optionalInteger('IntervalInSeconds', 0, 900) ?? 300;
  if (dynamicEnabled) {
    // Dynamic partitioning rules from the Firehose developer guide.
    if (bufferSizeMiB < 64) invalid('BufferingHints.SizeInMBs must be at least 64 with dynamic partitioning');
    if (errorOutputPrefix === undefined) invalid('ErrorOutputPrefix is required with dynamic partitioning');
    if (extractionQuery === undefined) invalid('dynamic partitioning needs a MetadataExtraction processor');
    for (const key of partitionKeysInPrefix(prefix)) {
      if (!Object.hasOwn(extractionQuery, key))
        invalid(`Prefix uses partitionKeyFromQuery:${key}, which the query does not extract`);
    }
  } else if (partitionKeysInPrefix(prefix).length > 0) {
    invalid('partitionKeyFromQuery in the Prefix requires dynamic partitioning to be enabled');
  }

  return {
    bucket: bucketArn.slice(bucketArn.lastIndexOf(':') + 1),
    prefix,
    errorOutputPrefix,
    bufferSizeBytes: bufferSizeMiB * MiB,
    bufferIntervalMs: intervalSeconds * 1000,
    compression,
    extractionQuery: dynamicEnabled ? extractionQuery : undefined,
    appendDelimiter,
    ...(deaggregation === undefined ? {} : { deaggregation }),
    described: {
      ...config.input,
      BufferingHints: { SizeInMBs: bufferSizeMiB, IntervalInSeconds: intervalSeconds },
      CompressionFormat: compression,
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    },
  };
}

export function createDeliveryStream(context: FirehoseContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const name = fields.string('DeliveryStreamName', { min: 1, max: 64, pattern: /^[a-zA-Z0-9_.-]+$/ });
  const type = fields.optionalString('DeliveryStreamType') ?? 'DirectPut';
  if (type !== 'DirectPut') invalid(`DeliveryStreamType ${type} is not supported by the local stand-in`);
  const destination = parseDestination(fields);
  if (ownEntry(context.store.state.streams, name) !== undefined) {
    throw new ServiceError(
      'ResourceInUseException',
      `Firehose ${name} under accountId ${context.accountId} already exists`,
    );
  }
  const arn = `arn:aws:firehose:${context.region}:${context.accountId}:deliverystream/${name}`;
  setOwnEntry(context.store.state.streams, name, {
    name,
    arn,
    createdMs: context.now(),
    version: 1,
    destination,
    buffers: {},
  });
  context.store.changed();
  return { DeliveryStreamARN: arn };
}
