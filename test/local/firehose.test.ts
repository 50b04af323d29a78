import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { partitionOf, S3_PREFIXES } from '../../consumers/contract/layout.ts';
import { ensureBucket, ensureDeliveryStream } from '../../local/resources.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';

const BUCKET = 'firehose-test';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const ROLE_ARN = 'arn:aws:iam::000000000000:role/firehose';

const line = (value: object) => ({ Data: Buffer.from(`${JSON.stringify(value)}\n`) });
/** The partition fields of a line at `epochMs`, all in device part 7. */
const partition = (epochMs: number) => ({ ...partitionOf(epochMs), part: '7' });

async function objectsUnder(clients: AwsClients, prefix: string): Promise<Map<string, string>> {
  const { Contents } = await clients.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  const objects = new Map<string, string>();
  for (const { Key } of Contents ?? []) {
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    objects.set(Key!, (Key!.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
  }
  return objects;
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Firehose stand-in with the real @aws-sdk/client-firehose', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;

  before(async () => {
    stack = await startLocalStack({ firehoseTickMs: 50 });
    clients = createAwsClients(localClientsConfig(stack));
    await ensureBucket(clients, BUCKET);
  });
  after(async () => {
    clients.destroy();
    await stack.stop();
  });

  it('delivers a batch as GZIP objects under the dynamic-partition prefixes; unpartitionable records go to the error prefix', async () => {
    await ensureDeliveryStream(clients, 'results', BUCKET_ARN, ROLE_ARN, S3_PREFIXES.results, {
      IntervalInSeconds: 900,
      SizeInMBs: 64,
    });
    // Creating the same stream again is not an error for ensureDeliveryStream.
    await ensureDeliveryStream(clients, 'results', BUCKET_ARN, ROLE_ARN, S3_PREFIXES.results, {
      IntervalInSeconds: 900,
      SizeInMBs: 64,
    });
    const a = partition(Date.UTC(2026, 10, 23, 18, 5));
    const b = partition(Date.UTC(2026, 10, 23, 19, 59));
    const response = await clients.firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'results',
        Records: [
          line({ id: 'r1', ...a }),
          line({ id: 'r2', ...b }),
          line({ id: 'r3', ...a }),
          line({ id: 'no-partition' }),
        ],
      }),
    );
    assert.equal(response.FailedPutCount, 0);
    assert.equal(response.RequestResponses?.length, 4);
    assert.ok(response.RequestResponses?.every((entry) => entry.RecordId !== undefined));

    const written = await stack.standIns.firehose.flush('results');
    assert.equal(written.length, 3);
    const hourA = await objectsUnder(clients, 'results/dt=2026-11-23/hour=18/');
    const hourB = await objectsUnder(clients, 'results/dt=2026-11-23/hour=19/');
    assert.equal(hourA.size, 1);
    const [keyA, bodyA] = [...hourA][0]!;
    assert.match(
      keyA,
      /^results\/dt=2026-11-23\/hour=18\/part=7\/results-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[\w-]+\.gz$/,
    );
    assert.deepEqual(
      bodyA
        .trimEnd()
        .split('\n')
        .map((text) => JSON.parse(text).id),
      ['r1', 'r3'],
    );
    assert.deepEqual(
      [...hourB.values()].map((body) => JSON.parse(body).id),
      ['r2'],
    );

    const errors = await objectsUnder(clients, 'errors/partitioning-failed/');
    assert.equal(errors.size, 1);
    const errorRecord = JSON.parse([...errors.values()][0]!);
    assert.equal(errorRecord.errorCode, 'DynamicPartitioning.MetadataExtractionFailed');
    // The sub-record as deaggregation split it out of the record (the stream deaggregates JSON).
    assert.equal(Buffer.from(errorRecord.rawData, 'base64').toString(), '{"id":"no-partition"}');
  });

  it('splits a packed record into its lines before partitioning; one that cannot be split goes to errors/', async () => {
    await ensureDeliveryStream(clients, 'packed', BUCKET_ARN, ROLE_ARN, S3_PREFIXES.results, {
      IntervalInSeconds: 900,
      SizeInMBs: 64,
    });
    const a = partition(Date.UTC(2026, 10, 23, 18, 5));
    const b = partition(Date.UTC(2026, 10, 23, 19, 59));
    const packed = [
      { id: 'p1', ...a },
      { id: 'p2', ...b },
      { id: 'p3', ...a },
    ]
      .map((o) => `${JSON.stringify(o)}\n`)
      .join('');
    const response = await clients.firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'packed',
        Records: [{ Data: Buffer.from(packed) }, { Data: Buffer.from('{"id":"torn"') }],
      }),
    );
    assert.equal(response.FailedPutCount, 0);
    await stack.standIns.firehose.flush('packed');
    const idsUnder = async (prefix: string) =>
      [...(await objectsUnder(clients, prefix)).entries()]
        .filter(([key]) => key.includes('/packed-'))
        .flatMap(([, body]) => body.trimEnd().split('\n'))
        .map((text) => JSON.parse(text).id);
    assert.deepEqual(await idsUnder('results/dt=2026-11-23/hour=18/'), ['p1', 'p3']);
    assert.deepEqual(await idsUnder('results/dt=2026-11-23/hour=19/'), ['p2']);
    const failed = [...(await objectsUnder(clients, 'errors/processing-failed/')).values()].map((body) =>
      JSON.parse(body),
    );
    assert.equal(failed.length, 1);
    assert.equal(failed[0].errorCode, 'RecordDeAggregation.Failed');
    assert.equal(Buffer.from(failed[0].rawData, 'base64').toString(), '{"id":"torn"');
  });

  it('enforces the PutRecordBatch limits with the service error names', async () => {
    const records = (count: number, bytes: number) =>
      Array.from({ length: count }, () => ({ Data: Buffer.alloc(bytes, 0x61) }));
    await assert.rejects(
      clients.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'results', Records: records(501, 1) }),
      ),
      { name: 'ValidationException' },
    );
    await assert.rejects(
      clients.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'results', Records: records(1, 1000 * 1024 + 1) }),
      ),
      { name: 'ValidationException' },
    );
    await assert.rejects(
      clients.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'results', Records: records(5, 1000 * 1024) }),
      ),
      { name: 'InvalidArgumentException' },
    );
    await assert.rejects(
      clients.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'missing', Records: records(1, 1) }),
      ),
      { name: 'ResourceNotFoundException' },
    );
    await assert.rejects(
      clients.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'results',
          ExtendedS3DestinationConfiguration: { RoleARN: ROLE_ARN, BucketARN: BUCKET_ARN },
        }),
      ),
      { name: 'ResourceInUseException' },
    );
    // Dynamic-partition prefixes without dynamic partitioning are refused at creation, as in Firehose.
    await assert.rejects(
      clients.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'bad-prefix',
          ExtendedS3DestinationConfiguration: {
            RoleARN: ROLE_ARN,
            BucketARN: BUCKET_ARN,
            Prefix: S3_PREFIXES.results,
          },
        }),
      ),
      { name: 'InvalidArgumentException' },
    );
  });

  it('reports injected per-record failures as Firehose does; retrying only those delivers every record once', async () => {
    await ensureDeliveryStream(
      clients,
      'flaky',
      BUCKET_ARN,
      ROLE_ARN,
      'flaky/dt=!{partitionKeyFromQuery:dt}/',
      {
        IntervalInSeconds: 900,
        SizeInMBs: 64,
      },
    );
    stack.standIns.firehose.failRecords({ deliveryStream: 'flaky', fraction: 0.25 });
    const dt = '2026-01-02';
    let pending = Array.from({ length: 40 }, (_, i) => line({ id: `f${i}`, dt, hour: '00', part: '0' }));
    const first = await clients.firehose.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'flaky', Records: pending }),
    );
    assert.equal(first.FailedPutCount, 10);
    const failedEntries = first.RequestResponses!.filter((entry) => entry.ErrorCode !== undefined);
    assert.equal(failedEntries.length, 10);
    assert.ok(
      failedEntries.every((entry) => entry.ErrorCode === 'ServiceUnavailableException' && entry.ErrorMessage),
    );
    assert.ok(failedEntries.every((entry) => entry.RecordId === undefined));
    stack.standIns.firehose.clearRecordFailures();
    pending = pending.filter((_, i) => first.RequestResponses![i]!.ErrorCode !== undefined);
    const retry = await clients.firehose.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'flaky', Records: pending }),
    );
    assert.equal(retry.FailedPutCount, 0);

    await stack.standIns.firehose.flush('flaky');
    const bodies = [...(await objectsUnder(clients, `flaky/dt=${dt}/`)).values()].join('');
    const ids = bodies
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text).id);
    assert.deepEqual(ids.sort(), Array.from({ length: 40 }, (_, i) => `f${i}`).sort());
  });

  it('answers a whole call with an injected 5xx at the wire', async () => {
    const oneShot = createAwsClients({ ...localClientsConfig(stack), maxAttempts: 1 });
    try {
      stack.standIns.firehose.service.injectFault({
        action: 'PutRecord',
        statusCode: 503,
        type: 'ServiceUnavailableException',
      });
      await assert.rejects(
        oneShot.firehose.send(
          new PutRecordCommand({ DeliveryStreamName: 'results', Record: line({ id: 'x' }) }),
        ),
        (error: Error & { $metadata?: { httpStatusCode?: number } }) =>
          error.name === 'ServiceUnavailableException' && error.$metadata?.httpStatusCode === 503,
      );
      // The fault was used up: the next call goes through.
      const ok = await oneShot.firehose.send(
        new PutRecordCommand({
          DeliveryStreamName: 'results',
          Record: line({ id: 'x', dt: 'd', hour: 'h', part: 'p' }),
        }),
      );
      assert.ok(ok.RecordId);
    } finally {
      oneShot.destroy();
    }
  });

  it('delivers on its own when a buffer reaches its size or its interval', async () => {
    for (const [name, hints] of [
      ['by-size', { SizeInMBs: 1, IntervalInSeconds: 900 }],
      ['by-time', { SizeInMBs: 5, IntervalInSeconds: 0 }],
    ] as const) {
      await clients.firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          ExtendedS3DestinationConfiguration: {
            RoleARN: ROLE_ARN,
            BucketARN: BUCKET_ARN,
            Prefix: `${name}/`,
            BufferingHints: hints,
          },
        }),
      );
    }
    const { DeliveryStreamDescription } = await clients.firehose.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'by-size' }),
    );
    assert.equal(DeliveryStreamDescription?.DeliveryStreamStatus, 'ACTIVE');
    assert.deepEqual(
      DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription?.BufferingHints,
      {
        SizeInMBs: 1,
        IntervalInSeconds: 900,
      },
    );

    const big = Array.from({ length: 2 }, () => ({ Data: Buffer.alloc(600 * 1024, 0x62) }));
    await clients.firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: 'by-size', Records: big }));
    const bySize = await eventually(async () => {
      const objects = await objectsUnder(clients, 'by-size/');
      return objects.size > 0 ? objects : undefined;
    });
    assert.equal([...bySize.values()][0]!.length, 2 * 600 * 1024);

    await clients.firehose.send(
      new PutRecordCommand({ DeliveryStreamName: 'by-time', Record: line({ id: 't' }) }),
    );
    const byTime = await eventually(async () => {
      const objects = await objectsUnder(clients, 'by-time/');
      return objects.size > 0 ? objects : undefined;
    });
    assert.equal([...byTime.values()][0], '{"id":"t"}\n');
  });
});
