/**
 * Firehose delivery-stream state and the buffering/delivery engine the actions share. Records are
 * grouped into buffers by their rendered S3 prefix (one per dynamic partition, as Firehose does) and a
 * buffer is delivered as one S3 object when it reaches SizeInMBs or becomes IntervalInSeconds old.
 */
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decodeBlob } from '../wire/fields.ts';
import { ServiceError } from '../wire/json-server.ts';
import { ownEntry, setOwnEntry } from '../wire/own.ts';
import type { StateStore } from '../wire/state-file.ts';
import { type SubRecordType, splitSubRecords } from './deaggregation.ts';
import { type ExtractionQuery, extractPartitionKeys, objectName, renderPrefix } from './partitioning.ts';

const gzipAsync = promisify(gzip);

export interface DestinationConfig {
  bucket: string;
  prefix: string;
  errorOutputPrefix: string | undefined;
  bufferSizeBytes: number;
  bufferIntervalMs: number;
  compression: 'UNCOMPRESSED' | 'GZIP';
  /** Present when dynamic partitioning is enabled. */
  extractionQuery: ExtractionQuery | undefined;
  /** RecordDeAggregation: how an incoming record splits into sub-records before partitioning. */
  deaggregation?: SubRecordType | undefined;
  appendDelimiter: boolean;
  /** The ExtendedS3DestinationConfiguration as given, echoed by DescribeDeliveryStream. */
  described: Record<string, unknown>;
}

export interface Buffer64 {
  /** The rendered prefix this buffer's object goes under. */
  prefix: string;
  /** Record payloads, base64, so the state stays JSON. */
  records: string[];
  bytes: number;
  firstArrivalMs: number;
}

export interface DeliveryStreamState {
  name: string;
  arn: string;
  createdMs: number;
  version: number;
  destination: DestinationConfig;
  buffers: Record<string, Buffer64>;
}

export interface FirehoseState {
  streams: Record<string, DeliveryStreamState>;
}

/** Makes chosen records fail at the wire with the per-record error Firehose reports under load. */
export interface RecordFailureRule {
  /** Only records for this delivery stream. @default every stream */
  readonly deliveryStream?: string;
  /** Only records whose data satisfies this. @default every record */
  readonly match?: (data: Buffer) => boolean;
  /** Share of the matching records that fail, spread evenly (0.25 fails every 4th). @default 1 */
  readonly fraction?: number;
  /** Stop after this many failed records. @default Infinity */
  readonly times?: number;
  /** @default 'ServiceUnavailableException' */
  readonly errorCode?: string;
}

export interface DeliveryReport {
  readonly deliveryStream: string;
  readonly key?: string;
  readonly records: number;
  readonly error?: string;
}

export interface FirehoseContext {
  readonly store: StateStore<FirehoseState>;
  readonly region: string;
  readonly accountId: string;
  readonly s3: S3Client;
  now(): number;
  /** Decides whether an incoming record fails (injected failures); returns the error code or undefined. */
  injectedFailure(streamName: string, data: Buffer): string | undefined;
  /** Starts delivery of full buffers of this stream (fire-and-forget; failures are retried on the next tick). */
  deliverFull(stream: DeliveryStreamState): void;
}

export function streamByName(context: FirehoseContext, name: string): DeliveryStreamState {
  const stream = ownEntry(context.store.state.streams, name);
  if (stream === undefined) {
    throw new ServiceError(
      'ResourceNotFoundException',
      `Firehose ${name} under account ${context.accountId} not found.`,
    );
  }
  return stream;
}

/** Firehose limits (API reference, PutRecordBatch): these cannot be raised. */
export const LIMITS = {
  maxRecordsPerBatch: 500,
  maxRecordBytes: 1_000 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
} as const;

/** Decodes the base64 `Data` of one record; shape violations are ValidationException like the service. */
export function decodeRecordData(record: unknown, where: string): Buffer {
  const data = (record as { Data?: unknown } | null)?.Data;
  if (typeof data !== 'string') {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${where}.data' failed to satisfy constraint: Member must not be null`,
    );
  }
  const bytes = decodeBlob(data, `${where}.data`);
  if (bytes.length > LIMITS.maxRecordBytes) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at '${where}.data' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.maxRecordBytes}`,
    );
  }
  return bytes;
}

/**
 * Buffers one accepted record: split into sub-records first when the stream deaggregates, then each
 * partitioned by its keys. A record that cannot be split, or a sub-record whose partition keys cannot be
 * extracted, goes to the error output prefix as Firehose's error-record JSON, so nothing is dropped silently.
 */
export function bufferRecord(context: FirehoseContext, stream: DeliveryStreamState, data: Buffer): void {
  const arrivalMs = context.now();
  const how = stream.destination.deaggregation;
  if (how === undefined) {
    bufferOne(context, stream, data, arrivalMs);
    return;
  }
  const parts = splitSubRecords(data, how);
  if (typeof parts === 'string') {
    bufferError(context, stream, data, arrivalMs, 'processing-failed', 'RecordDeAggregation.Failed', parts);
    return;
  }
  for (const part of parts) bufferOne(context, stream, part, arrivalMs);
}

function bufferOne(
  context: FirehoseContext,
  stream: DeliveryStreamState,
  data: Buffer,
  arrivalMs: number,
): void {
  const { destination } = stream;
  let prefix: string;
  if (destination.extractionQuery === undefined) {
    prefix = renderPrefix(destination.prefix, { arrivalMs });
  } else {
    const keys = extractPartitionKeys(data, destination.extractionQuery);
    if (typeof keys === 'string') {
      bufferError(
        context,
        stream,
        data,
        arrivalMs,
        'partitioning-failed',
        'DynamicPartitioning.MetadataExtractionFailed',
        keys,
      );
      return;
    }
    prefix = renderPrefix(destination.prefix, { arrivalMs, partitionKeys: keys });
  }
  addToBuffer(
    context,
    stream,
    prefix,
    destination.appendDelimiter ? Buffer.concat([data, NEWLINE]) : data,
    arrivalMs,
  );
}

const NEWLINE = Buffer.from('\n');

/** A record Firehose could not process goes to the error output prefix as its error-record JSON. */
function bufferError(
  context: FirehoseContext,
  stream: DeliveryStreamState,
  data: Buffer,
  arrivalMs: number,
  errorOutputType: string,
  errorCode: string,
  errorMessage: string,
): void {
  const prefix = renderPrefix(stream.destination.errorOutputPrefix ?? 'errors/', {
    arrivalMs,
    errorOutputType,
  });
  const payload = Buffer.from(
    `${JSON.stringify({
      attemptsMade: 1,
      arrivalTimestamp: arrivalMs,
      errorCode,
      errorMessage,
      rawData: data.toString('base64'),
      deliveryStreamARN: stream.arn,
    })}\n`,
  );
  addToBuffer(context, stream, prefix, payload, arrivalMs);
}

function addToBuffer(
  context: FirehoseContext,
  stream: DeliveryStreamState,
  prefix: string,
  payload: Buffer,
  arrivalMs: number,
): void {
  // The prefix comes from record contents under dynamic partitioning, so it can be any string.
  let buffer = ownEntry(stream.buffers, prefix);
  if (buffer === undefined) {
    buffer = { prefix, records: [], bytes: 0, firstArrivalMs: arrivalMs };
    setOwnEntry(stream.buffers, prefix, buffer);
  }
  buffer.records.push(payload.toString('base64'));
  buffer.bytes += payload.length;
  context.store.changed();
}

/**
 * Writes buffers to S3. A buffer is taken out of the stream before the upload and put back (ahead of
 * newer records) if the upload fails, so a failed delivery is retried, never lost.
 */
export async function deliverBuffers(
  context: FirehoseContext,
  stream: DeliveryStreamState,
  select: (buffer: Buffer64) => boolean,
  report: (report: DeliveryReport) => void,
): Promise<void> {
  const due = Object.values(stream.buffers).filter(select);
  for (const buffer of due) delete stream.buffers[buffer.prefix];
  await Promise.all(
    due.map(async (buffer) => {
      const body = Buffer.concat(buffer.records.map((record) => Buffer.from(record, 'base64')));
      const gzipped = stream.destination.compression === 'GZIP';
      const key = `${buffer.prefix}${objectName(stream.name, stream.version, buffer.firstArrivalMs, randomUUID())}${gzipped ? '.gz' : ''}`;
      try {
        await context.s3.send(
          new PutObjectCommand({
            Bucket: stream.destination.bucket,
            Key: key,
            // Firehose stores GZIP output as plain `.gz` objects, without a Content-Encoding header.
            Body: gzipped ? await gzipAsync(body) : body,
          }),
        );
        report({ deliveryStream: stream.name, key, records: buffer.records.length });
      } catch (error) {
        const current = ownEntry(stream.buffers, buffer.prefix);
        setOwnEntry(
          stream.buffers,
          buffer.prefix,
          current === undefined
            ? buffer
            : {
                ...buffer,
                records: [...buffer.records, ...current.records],
                bytes: buffer.bytes + current.bytes,
              },
        );
        report({
          deliveryStream: stream.name,
          records: buffer.records.length,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
    }),
  );
  if (due.length > 0) context.store.changed();
}
