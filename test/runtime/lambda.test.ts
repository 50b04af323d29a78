import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createS3SnapshotStore } from '../../consumers/leases/snapshot-store.ts';
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
});
