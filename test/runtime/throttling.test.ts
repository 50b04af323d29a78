import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { LeaseTable } from '../../consumers/leases/lease-table.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { HeldLease } from '../../consumers/runtimes/held-lease.ts';
import { createRuntimeParts } from '../../consumers/runtimes/runtime.ts';
import { runShardWorker } from '../../consumers/runtimes/shard-worker.ts';
import { localClientsConfig } from '../../local/stack.ts';
import { useLocalStack } from '../support/local-stack.ts';
import { eventually, isolatedResources, putRecords, telemetry } from './helpers.ts';

describe('shard worker under throttling and 5xx at the wire', () => {
  const local = useLocalStack({ firehoseTickMs: 100 });

  it('backs off and carries on until every record is processed and checkpointed', async () => {
    const resources = await isolatedResources(local.clients, 'throttle', 1);
    const last = await putRecords(
      local.clients,
      resources.names.stream,
      telemetry(4, 0, 30, Date.now() - 60_000),
    );
    const [shardId, lastSequence] = [...last][0]!;
    // The wire errors Kinesis sends when a shard's read limit is exceeded (400) or it fails (5xx),
    // queued in order on kinesalite's own fault hook: the next GetRecords calls get them, then the rest pass.
    const faults = [
      { statusCode: 400, type: 'ProvisionedThroughputExceededException' },
      { statusCode: 400, type: 'ProvisionedThroughputExceededException' },
      { statusCode: 500, type: 'InternalFailure' },
      { statusCode: 400, type: 'LimitExceededException' },
      { statusCode: 503, type: 'ServiceUnavailable' },
    ];
    for (const fault of faults) local.stack.faults.kinesis.injectFault({ action: 'GetRecords', ...fault });
    // No SDK-level retries: every injected fault reaches the worker's own backoff.
    const throttled = createAwsClients({ ...localClientsConfig(local.stack), maxAttempts: 1 });
    // What the worker's GetRecords calls met at the wire, in order.
    const readErrors: string[] = [];
    throttled.kinesis.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          if (context.commandName === 'GetRecordsCommand') readErrors.push((error as Error).name);
          throw error;
        }
      },
      { step: 'initialize', name: 'recordReadErrors' },
    );
    const emf: string[] = [];
    try {
      const table = new LeaseTable(local.clients.dynamodb, resources.names.leaseTable);
      await table.createLeaseIfAbsent({ leaseKey: shardId, checkpoint: 'TRIM_HORIZON', parentShardIds: [] });
      const lease = new HeldLease(table, (await table.takeLease((await table.getLease(shardId))!, 't'))!);
      const parts = await createRuntimeParts(
        {
          region: local.stack.region,
          streamName: resources.names.stream,
          leaseTableName: resources.names.leaseTable,
          bucket: resources.names.bucket,
          resultsDeliveryStream: resources.names.resultsDeliveryStream,
          rawDeliveryStream: resources.names.rawDeliveryStream,
          dlqUrl: resources.dlqUrl,
          endpoints: local.stack.endpoints,
        },
        local.clients,
      );
      const stop = new AbortController();
      const metrics = createMetrics({ write: (line) => emf.push(line) });
      const run = runShardWorker(
        lease,
        {
          streamName: resources.names.stream,
          maxRecords: 25,
          idleTimeBetweenReadsMs: 50,
          maxInFlightBatches: 2,
          checkpointIntervalMs: 0,
          backoff: { baseDelayMs: 10, maxDelayMs: 100 },
        },
        {
          kinesis: throttled.kinesis,
          table,
          snapshots: parts.snapshots,
          sinks: parts.sinks,
          processor: createRecordProcessor(),
          logger: silentLogger,
          metrics,
        },
        stop.signal,
      );
      await eventually(
        async () => ((await table.getLease(shardId))?.checkpoint === lastSequence ? true : undefined),
        30_000,
        'checkpoint at the last record',
      );
      stop.abort();
      assert.equal(await run, 'drained');
      metrics.flush();
      assert.deepEqual(
        readErrors,
        faults.map((f) => f.type),
        'every injected fault was met, once',
      );
      const line = JSON.parse(emf.at(-1) ?? '{}');
      assert.equal(line.ReadThrottles, 5, 'each fault was counted and backed off, none was fatal');
      assert.equal(line.RecordsIn, 120);
      assert.deepEqual(
        line._aws.CloudWatchMetrics[0].Metrics.find((m: { Name: string }) => m.Name === 'RecordsIn'),
        { Name: 'RecordsIn', Unit: 'Count' },
      );
    } finally {
      throttled.destroy();
      local.stack.faults.kinesis.clearFaults();
    }
  });
});
