import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createS3SnapshotStore } from '../../consumers/leases/snapshot-store.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { createHandler, type KinesisStreamEvent } from '../../consumers/runtimes/lambda.ts';
import { createFirehoseSink } from '../../consumers/sinks/firehose-sink.ts';
import { createSqsDlqSink } from '../../consumers/sinks/sqs-dlq-sink.ts';
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

  it('reports a failed device from its first record, keeps the others, and carries state so the retry is exact', async () => {
    const resources = await isolatedResources(local.clients, 'lambda', 1);
    const sinkOptions = { client: local.clients.firehose, baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 };
    const handler = createHandler({
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
});
