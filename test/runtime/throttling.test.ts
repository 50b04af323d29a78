import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/**
 * Sits in front of kinesalite and answers GetRecords with the wire errors Kinesis sends when a shard's
 * read limit is exceeded (400 ProvisionedThroughputExceededException) or it fails (500), then lets
 * calls through.
 */
function faultyKinesis(
  target: URL,
  faults: Array<{ status: number; type: string }>,
): Server & { injected: number } {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault =
        req.headers['x-amz-target'] === 'Kinesis_20131202.GetRecords' ? faults.shift() : undefined;
      if (fault !== undefined) {
        server.injected++;
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: fault.type, message: 'injected by the test' }));
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.end(body);
    });
  }) as Server & { injected: number };
  server.injected = 0;
  return server;
}

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
    const faults = [
      { status: 400, type: 'ProvisionedThroughputExceededException' },
      { status: 400, type: 'ProvisionedThroughputExceededException' },
      { status: 500, type: 'InternalFailure' },
      { status: 400, type: 'LimitExceededException' },
      { status: 503, type: 'ServiceUnavailable' },
    ];
    const proxy = faultyKinesis(new URL(local.stack.endpoints.kinesis), faults);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    // No SDK-level retries: every injected fault reaches the worker's own backoff.
    const throttled = createAwsClients({
      ...localClientsConfig(local.stack),
      endpoints: {
        ...local.stack.endpoints,
        kinesis: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      },
      maxAttempts: 1,
    });
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
      assert.equal(proxy.injected, 5, 'every injected fault was met');
      const line = JSON.parse(emf.at(-1) ?? '{}');
      assert.equal(line.ReadThrottles, 5, 'each fault was counted and backed off, none was fatal');
      assert.equal(line.RecordsIn, 120);
      assert.deepEqual(
        line._aws.CloudWatchMetrics[0].Metrics.find((m: { Name: string }) => m.Name === 'RecordsIn'),
        { Name: 'RecordsIn', Unit: 'Count' },
      );
    } finally {
      throttled.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
