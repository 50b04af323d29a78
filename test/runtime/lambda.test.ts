import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createSqsCorrectionSink } from '../../anomaly/correction/sink.ts';
import { ALL_REJECT_REASONS } from '../../consumers/contract/reasons.ts';
import { createS3SnapshotStore, snapshotKey } from '../../consumers/leases/snapshot-store.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { createHandler, type KinesisStreamEvent } from '../../consumers/runtimes/lambda.ts';
import { createFirehoseSink } from '../../consumers/sinks/firehose-sink.ts';
import { createSqsDlqSink } from '../../consumers/sinks/sqs-dlq-sink.ts';
import { createModelClient } from '../../models/client/model-client.ts';
import { createAnomalyCombiner } from '../../models/combine.ts';
import { createModelReview, type ModelReview } from '../../models/review/model-review.ts';
import { startModelServer } from '../../models/serving/server.ts';
import {
  runtimeClient,
  smoothTemperature,
  TEMPERATURE_SHINGLE,
  temperatureForest,
} from '../models/helpers.ts';
import { useLocalStack } from '../support/local-stack.ts';
import { deliveredLines, isolatedResources, type TestRecord, telemetry } from './helpers.ts';

const SHARD = 'shardId-000000000003';

function event(records: readonly TestRecord[], firstSequence: number, arrivalMs: number): KinesisStreamEvent {
  return {
    Records: records.map((record, index) => ({
      eventID: `${SHARD}:${firstSequence + index}`,
      kinesis: {
        data: record.data.toString('base64'),
        partitionKey: record.partitionKey,
        sequenceNumber: String(firstSequence + index),
        approximateArrivalTimestamp: arrivalMs / 1000,
      },
    })),
  };
}

describe('Lambda handler (Kinesis event source mapping)', () => {
  const local = useLocalStack({ firehoseTickMs: 50 });

  /** The handler's sinks and snapshot store on the test's own resources, retrying little. */
  function sinksAndSnapshots(resources: Awaited<ReturnType<typeof isolatedResources>>) {
    const sinkOptions = { client: local.clients.firehose, baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 };
    return {
      sinks: {
        results: createFirehoseSink({
          ...sinkOptions,
          deliveryStreamName: resources.names.resultsDeliveryStream,
        }),
        archive: createFirehoseSink({
          ...sinkOptions,
          deliveryStreamName: resources.names.rawDeliveryStream,
        }),
        dlq: createSqsDlqSink({ client: local.clients.sqs, queueUrl: resources.dlqUrl, baseDelayMs: 1 }),
      },
      snapshots: createS3SnapshotStore({
        client: local.clients.s3,
        bucket: resources.names.bucket,
        streamName: resources.names.stream,
        inlineMaxBytes: -1,
      }),
    };
  }

  it('reports a failed device from its first record, keeps the others, and carries state so the retry is exact', async () => {
    const resources = await isolatedResources(local.clients, 'lambda', 1);
    const handler = createHandler({
      ...sinksAndSnapshots(resources),
      createProcessor: () => createRecordProcessor(),
      logger: silentLogger,
      metrics: createMetrics({ write: () => {} }),
    });
    const baseMs = Date.now() - 120_000;
    const arrival = baseMs + 30_000;
    const first = telemetry(3, 0, 4, baseMs);
    assert.deepEqual(await handler(event(first, 100, arrival)), { batchItemFailures: [] });

    // dev-1's results cannot be delivered in the second batch.
    const second = telemetry(3, 4, 8, baseMs);
    local.stack.standIns.firehose.failRecords({
      deliveryStream: resources.names.resultsDeliveryStream,
      match: (data) => data.includes('"deviceId":"dev-1"'),
    });
    const response = await handler(event(second, 200, arrival));
    const firstOfDev1 = second.findIndex((record) => record.deviceId === 'dev-1');
    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: String(200 + firstOfDev1) }] });
    local.stack.standIns.firehose.clearRecordFailures();

    // Lambda retries from the lowest reported sequence number.
    const retry = second.slice(firstOfDev1);
    assert.deepEqual(await handler(event(retry, 200 + firstOfDev1, arrival)), { batchItemFailures: [] });

    await local.stack.standIns.firehose.flush();
    const readings = (await deliveredLines(local.clients, resources.names.bucket, 'results/')).filter(
      (line) => line.kind === 'reading',
    );
    const ids = readings.map((line) => line.id);
    for (let seq = 0; seq < 8; seq++)
      for (let d = 0; d < 3; d++) assert.ok(ids.includes(`dev-${d}:r:${seq}`));
    // dev-1 resumed from the state before its failed records: its first retried reading has its delta.
    const resumed = readings.find((line) => line.id === 'dev-1:r:4') as unknown as {
      deltas: Record<string, number>;
    };
    assert.equal(resumed.deltas.energyWh, 10);
    // Other devices' records in the retry were already delivered: recognised as duplicates, not re-emitted.
    assert.equal(ids.filter((id) => id === 'dev-2:r:5').length, 1);
  });
  it('with a model configured, reviews each invocation in one InvokeEndpoint and delivers each device its own review results', async () => {
    const server = await startModelServer({ model: temperatureForest(), host: '127.0.0.1', port: 0 });
    const runtime = runtimeClient(server.url, 1);
    try {
      const resources = await isolatedResources(local.clients, 'lambda-model', 1);
      const reviews: ModelReview[] = [];
      const emf: string[] = [];
      const handler = createHandler({
        ...sinksAndSnapshots(resources),
        createProcessor: () => createRecordProcessor({ keepScoredReadings: true }),
        createStage: () => {
          const review = createModelReview({
            client: createModelClient({
              runtime,
              endpointName: 'fleetstream-rcf',
              gate: 0.5,
              sampleRate: 1,
            }),
            combiner: createAnomalyCombiner({ threshold: 0.5 }),
            metrics: ['temperatureC'],
            shingleSize: TEMPERATURE_SHINGLE,
          });
          reviews.push(review);
          return review;
        },
        logger: silentLogger,
        metrics: createMetrics({ write: (line) => emf.push(line) }),
      });
      // Three devices with the smooth temperature the model knows; dev-2 spikes at seq 300.
      const baseMs = Date.now() - 3_600_000;
      const temperature = (d: number, seq: number) =>
        d === 2 && seq === 300 ? 55 : smoothTemperature(seq + d);
      const records = telemetry(3, 0, 400, baseMs, temperature);
      const firstHalf = records.filter((record) => record.seq < 200);
      const secondHalf = records.filter((record) => record.seq >= 200);
      assert.deepEqual(await handler(event(firstHalf, 1000, baseMs + 400_000)), { batchItemFailures: [] });
      // dev-0's outputs cannot be delivered in the second invocation; the others' still are.
      local.stack.standIns.firehose.failRecords({
        deliveryStream: resources.names.resultsDeliveryStream,
        match: (data) => data.includes('"deviceId":"dev-0"'),
      });
      const response = await handler(event(secondHalf, 2000, baseMs + 400_000));
      local.stack.standIns.firehose.clearRecordFailures();
      assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: String(2000) }] });

      assert.equal(reviews.length, 1, 'one review for the shard, kept across invocations');
      const metrics = reviews[0]!.metrics();
      assert.equal(metrics.requests, 2, 'one InvokeEndpoint per invocation, for all its devices');
      assert.ok(metrics.confirmed >= 1 && metrics.failures === 0, JSON.stringify(metrics));
      // …and says so in its metrics, beside the batch counters the dashboard reads.
      const total = (name: string) =>
        emf.map((line) => (JSON.parse(line) as Record<string, number>)[name] ?? 0).reduce((a, b) => a + b, 0);
      assert.equal(total('RecordsIn'), 1200);
      assert.equal(total('ModelRequests'), 2);
      assert.ok(total('AnomaliesFlagged') >= 1 && total('ModelAlarmsConfirmed') >= 1);

      await local.stack.standIns.firehose.flush();
      const lines = await deliveredLines(local.clients, resources.names.bucket, 'results/');
      const spike = lines.find((line) => line.kind === 'model-review' && line.id === 'dev-2:r:300:mr');
      assert.equal(spike?.verdict, 'confirmed', JSON.stringify(spike));
      assert.ok(
        lines.some(
          (line) => line.kind === 'correction-request' && line.deviceId === 'dev-2' && line.seq === 300,
        ),
        'the confirmed alarm keeps its correction request',
      );
      const readingsOf = (deviceId: string) =>
        lines.filter((line) => line.kind === 'reading' && line.deviceId === deviceId).length;
      assert.deepEqual([readingsOf('dev-1'), readingsOf('dev-2')], [400, 400]);
      assert.ok(
        !lines.some((line) => line.deviceId === 'dev-0' && (line.seq as number) >= 200),
        "dev-0's undelivered outputs are not in S3 (Lambda retries them)",
      );
    } finally {
      runtime.destroy();
      await server.close();
    }
  });

  it('puts every record of a malformed event in the results or the DLQ with a reason, and never throws', async () => {
    const resources = await isolatedResources(local.clients, 'lambda-bad', 1);
    const emf: string[] = [];
    const handler = createHandler({
      ...sinksAndSnapshots(resources),
      createProcessor: () => createRecordProcessor(),
      logger: silentLogger,
      metrics: createMetrics({ write: (line) => emf.push(line) }),
    });
    // Not Kinesis events at all: nothing to account for, and still a proper response.
    const notEvents = [{}, null, { Records: 'x' }, { Records: [] }] as unknown as KinesisStreamEvent[];
    for (const bad of notEvents) assert.deepEqual(await handler(bad), { batchItemFailures: [] });

    const baseMs = Date.now() - 120_000;
    const arrival = (baseMs + 30_000) / 1000;
    const [a0, a1, a2, b0] = telemetry(1, 0, 3, baseMs).concat(telemetry(2, 0, 1, baseMs).slice(1));
    const good = (record: TestRecord, shard: string, sequence: string) => ({
      eventID: `${shard}:${sequence}`,
      eventSourceARN: 'not-an-arn',
      kinesis: {
        data: record.data.toString('base64'),
        partitionKey: record.partitionKey,
        sequenceNumber: sequence,
        approximateArrivalTimestamp: arrival,
      },
    });
    const kinesis = (sequence: string, fields: Record<string, unknown>) => ({
      eventID: `${SHARD}:${sequence}`,
      kinesis: {
        data: a2!.data.toString('base64'),
        partitionKey: 'dev-0',
        sequenceNumber: sequence,
        approximateArrivalTimestamp: arrival,
        ...fields,
      },
    });
    const OTHER = 'shardId-000000000004';
    const records: unknown[] = [
      good(a0!, SHARD, '100'),
      { ...good(a1!, SHARD, '101'), eventSourceARN: undefined },
      kinesis('102', { data: '%%% not base64 %%%' }),
      kinesis('103', { data: Buffer.from(a2!.data).toString('utf8') }), // JSON, but not base64
      kinesis('104', { data: undefined }),
      kinesis('105', { data: 42 }),
      kinesis('106', { data: '' }),
      kinesis('107', { data: Buffer.from([0xc3, 0x28, 0xff]).toString('base64') }),
      kinesis('108', { data: Buffer.from('{"oops":').toString('base64') }),
      kinesis('109', { data: Buffer.from('[1,2,3]').toString('base64') }),
      kinesis('110', { data: Buffer.alloc(300_000, 'x').toString('base64') }),
      kinesis('111', { sequenceNumber: undefined }),
      kinesis('112', { partitionKey: undefined }),
      kinesis('113', { approximateArrivalTimestamp: undefined }),
      kinesis('114', { approximateArrivalTimestamp: 'soon' }),
      { eventID: `${SHARD}:115` },
      null,
      { ...good(a2!, SHARD, '116'), eventID: undefined },
      { ...good(a2!, SHARD, '117'), eventID: '../../escape' },
      good(a2!, SHARD, '118'),
      good(b0!, OTHER, '200'),
    ];
    const response = await handler({ Records: records } as unknown as KinesisStreamEvent);
    assert.deepEqual(response, { batchItemFailures: [] });

    // Accepted: a0, a1, a2 (shard 3) and b0 (shard 4), each with its own state.
    await local.stack.standIns.firehose.flush();
    const readings = (await deliveredLines(local.clients, resources.names.bucket, 'results/'))
      .filter((line) => line.kind === 'reading')
      .map((line) => line.id)
      .sort();
    assert.deepEqual(readings, ['dev-0:r:0', 'dev-0:r:1', 'dev-0:r:2', 'dev-1:r:0']);
    // Every raw archive line is JSON with the record's stream position (a missing one made it invalid).
    const archived = await deliveredLines(local.clients, resources.names.bucket, 'raw/');
    assert.equal(archived.length, 4);
    for (const line of archived) assert.match(String(line.sequenceNumber), /^\d+$/);
    for (const shard of [SHARD, OTHER])
      await local.clients.s3.send(
        new HeadObjectCommand({
          Bucket: resources.names.bucket,
          Key: snapshotKey(resources.names.stream, shard, 'lambda'),
        }),
      );

    // Rejected: every other record, each once, with a known reason code and the field it broke.
    const rejections: Array<{ id: string; reason: string; message: string; rawBase64: string }> = [];
    for (let round = 0; round < 20 && rejections.length < 17; round++) {
      const { Messages = [] } = await local.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      for (const message of Messages) rejections.push(JSON.parse(message.Body ?? '{}'));
    }
    assert.equal(rejections.length, records.length - 4, JSON.stringify(rejections.map((r) => r.id)));
    assert.equal(new Set(rejections.map((r) => r.id)).size, rejections.length, 'one entry per record');
    for (const rejection of rejections) assert.ok(ALL_REJECT_REASONS.includes(rejection.reason as never));
    const byId = new Map(rejections.map((r) => [r.id, r]));
    const reasonOf = (sequence: string) => byId.get(`${SHARD}:${sequence}`)?.reason;
    assert.deepEqual(
      ['102', '103', '104', '105', '106', '107', '108', '109', '110', '112', '113', '114'].map(reasonOf),
      [
        'MALFORMED_ENVELOPE',
        'MALFORMED_ENVELOPE',
        'MALFORMED_ENVELOPE',
        'MALFORMED_ENVELOPE',
        'EMPTY_RECORD',
        'INVALID_UTF8',
        'INVALID_JSON',
        'NOT_TELEMETRY',
        'RECORD_TOO_LARGE',
        'MALFORMED_ENVELOPE',
        'MALFORMED_ENVELOPE',
        'MALFORMED_ENVELOPE',
      ],
    );
    assert.match(byId.get(`${SHARD}:102`)?.message ?? '', /kinesis\.data is not base64/);
    assert.match(byId.get(`${SHARD}:113`)?.message ?? '', /kinesis\.approximateArrivalTimestamp is missing/);
    // What came in place of base64 is kept, so the record can still be inspected.
    assert.equal(
      Buffer.from(byId.get(`${SHARD}:103`)?.rawBase64 ?? '', 'base64').toString(),
      a2!.data.toString(),
    );
    assert.ok(byId.get('unknown-shard:116') && byId.get('unknown-shard:117'), 'eventID naming no shard');
    assert.equal(
      rejections.filter((r) =>
        /sequenceNumber is missing|kinesis is missing|Records\[16\] is null/.test(r.message),
      ).length,
      3,
    );
    // Accounted for in the metrics too.
    const total = (name: string) =>
      emf.map((line) => (JSON.parse(line) as Record<string, number>)[name] ?? 0).reduce((x, y) => x + y, 0);
    assert.equal(total('RecordsIn'), records.length);
    assert.equal(total('RecordsRejected'), records.length - 4);
  });

  it("sends the batch's correction requests to the correction queue (a late event)", async () => {
    const resources = await isolatedResources(local.clients, 'lambda-corrections', 1);
    const { QueueUrl: queueUrl } = await local.clients.sqs.send(
      new CreateQueueCommand({ QueueName: `${resources.names.stream}-corrections` }),
    );
    const parts = sinksAndSnapshots(resources);
    const handler = createHandler({
      ...parts,
      sinks: { ...parts.sinks, corrections: createSqsCorrectionSink(local.clients.sqs, queueUrl as string) },
      createProcessor: () => createRecordProcessor(),
      logger: silentLogger,
      metrics: createMetrics({ write: () => {} }),
    });
    // 75 s of readings close the first minute's window (watermark = latest − 10 s lateness); then a
    // reading of that minute arrives (seq 75, device time 30 s into it).
    const minute = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;
    const onTime = telemetry(1, 0, 75, minute);
    const late = telemetry(1, 75, 76, minute - 45_000);
    assert.deepEqual(await handler(event([...onTime, ...late], 100, minute + 80_000)), {
      batchItemFailures: [],
    });
    const { Messages = [] } = await local.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const requests = Messages.map(
      (message) => JSON.parse(message.Body ?? '{}') as { request?: { reason?: string; id?: string } },
    );
    assert.deepEqual(
      requests.map((message) => message.request?.reason),
      ['LATE_EVENT'],
      JSON.stringify(requests),
    );
    assert.equal(requests[0]?.request?.id, `dev-0:w:${minute}:c:LATE_EVENT`);
  });
});
