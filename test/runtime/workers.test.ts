import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DescribeStreamSummaryCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import type { Lease } from '../../consumers/leases/lease.ts';
import { LeaseTable } from '../../consumers/leases/lease-table.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { EncodedOutput } from '../../consumers/processor/types.ts';
import { createRuntimeParts } from '../../consumers/runtimes/runtime.ts';
import { type RunningWorker, startWorker } from '../../consumers/runtimes/worker.ts';
import type { Sinks } from '../../consumers/sinks/ports.ts';
import type { EnsuredResources } from '../../local/resources.ts';
import { localRuntimeConfig, localWorkerEnv } from '../../local/runtime-config.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { deliveredLines, eventually, isolatedResources, putRecords, telemetry } from './helpers.ts';

const LEASE_DURATION_MS = 3000;
const quietMetrics = createMetrics({ write: () => {} });

/** Runs one in-process worker until `until` holds, then stops it gracefully. */
async function runInProcess(
  clients: AwsClients,
  stack: EmbeddedLocalStack,
  resources: EnsuredResources,
  until: (leases: Lease[]) => boolean,
  wrapSinks: (sinks: Sinks) => Sinks = (sinks) => sinks,
): Promise<void> {
  const parts = await createRuntimeParts(localRuntimeConfig(stack, resources), clients);
  const table = new LeaseTable(clients.dynamodb, resources.names.leaseTable);
  const worker: RunningWorker = startWorker(
    {
      streamName: resources.names.stream,
      workerId: 'solo',
      leaseDurationMs: LEASE_DURATION_MS,
      idleTimeBetweenReadsMs: 100,
      checkpointIntervalMs: 0,
      shardSyncIntervalMs: 300,
      maxRecords: 100,
    },
    {
      kinesis: clients.kinesis,
      table,
      snapshots: parts.snapshots,
      sinks: wrapSinks(parts.sinks),
      createProcessor: () => createRecordProcessor(),
      logger: silentLogger,
      metrics: quietMetrics,
    },
  );
  try {
    await eventually(
      async () => (until(await table.listLeases()) ? true : undefined),
      40_000,
      'worker progress',
    );
  } finally {
    await worker.stop();
  }
}

function allCheckpointed(last: Map<string, string>) {
  return (leases: Lease[]) =>
    [...last].every(([shard, seq]) => leases.find((l) => l.leaseKey === shard)?.checkpoint === seq);
}

function spawnWorker(
  stack: EmbeddedLocalStack,
  resources: EnsuredResources,
  workerId: string,
): ChildProcess & { log: string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'consumers/runtimes/worker-main.ts'], {
    env: {
      ...process.env,
      ...localWorkerEnv(stack, resources),
      FLEETSTREAM_WORKER_ID: workerId,
      FLEETSTREAM_LEASE_DURATION_MS: String(LEASE_DURATION_MS),
      FLEETSTREAM_IDLE_BETWEEN_READS_MS: '100',
      FLEETSTREAM_CHECKPOINT_INTERVAL_MS: '0',
      FLEETSTREAM_MAX_RECORDS: '100',
      FLEETSTREAM_SHARD_SYNC_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { log: string };
  child.log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    child.log += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    child.log += chunk.toString();
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** id → line content, checking that every duplicate of an id is the same output. */
function byId(lines: Array<Record<string, unknown> & { id: string }>): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of lines) {
    const text = JSON.stringify(line);
    const previous = map.get(line.id);
    assert.ok(
      previous === undefined || previous === text,
      `duplicate ${line.id} differs:\n${previous}\n${text}`,
    );
    map.set(line.id, text);
  }
  return map;
}

describe('sharded workers against the embedded stack', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  const baseMs = Date.now() - 300_000;

  before(async () => {
    stack = await startLocalStack({ firehoseTickMs: 100 });
    clients = createAwsClients(localClientsConfig(stack));
  });
  after(async () => {
    clients.destroy();
    await stack.stop();
  });

  it('two worker processes, one SIGKILLed mid-stream: nothing lost, every shard done, outputs equal a single-worker run', async (t) => {
    const multi = await isolatedResources(clients, 'multi', 2, 'stream-kill');
    const single = await isolatedResources(clients, 'single', 2, 'stream-kill');
    const stream = multi.names.stream;
    const table = new LeaseTable(clients.dynamodb, multi.names.leaseTable);
    const children: Array<ChildProcess & { log: string }> = [];
    try {
      const last = await putRecords(clients, stream, telemetry(8, 0, 60, baseMs));
      const w1 = spawnWorker(stack, multi, 'w1');
      const w2 = spawnWorker(stack, multi, 'w2');
      children.push(w1, w2);
      // Whoever lists first takes both shards (it sees no other worker); the other then steals one,
      // because the first is above its fair share.
      const balanced = await eventually(
        async () => {
          const leases = await table.listLeases();
          const owners = new Set(leases.map((l) => l.leaseOwner));
          return owners.size === 2 &&
            owners.has('w1') &&
            owners.has('w2') &&
            leases.every((l) => /^\d+$/.test(l.checkpoint))
            ? leases
            : undefined;
        },
        30_000,
        'both workers processing',
      );
      const victimShard = balanced.find((l) => l.leaseOwner === 'w1')!.leaseKey;
      w1.kill('SIGKILL');
      const killedAt = Date.now();
      await exited(w1);
      await putRecords(clients, stream, telemetry(8, 60, 120, baseMs), last);

      await eventually(
        async () => ((await table.getLease(victimShard))?.leaseOwner === 'w2' ? true : undefined),
        30_000,
        'takeover',
      );
      const takeoverMs = Date.now() - killedAt;
      t.diagnostic(`lease takeover after SIGKILL: ${takeoverMs} ms (lease duration ${LEASE_DURATION_MS} ms)`);
      await eventually(
        async () => (allCheckpointed(last)(await table.listLeases()) ? true : undefined),
        30_000,
        'all shards done',
      );
      w2.kill('SIGTERM');
      assert.equal(await exited(w2), 0, `w2 drains and exits cleanly\n${w2.log.slice(-2000)}`);
      assert.ok(
        (await table.listLeases()).every((l) => l.leaseOwner === undefined),
        'leases given back on SIGTERM',
      );
    } finally {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // The same stream, read by one uninterrupted worker.
    await runInProcess(clients, stack, single, allCheckpointed(new Map([...(await checkpoints(table))])));
    await stack.standIns.firehose.flush();
    for (const prefix of ['results/', 'raw/']) {
      const got = byId(await deliveredLines(clients, multi.names.bucket, prefix));
      const want = byId(await deliveredLines(clients, single.names.bucket, prefix));
      assert.ok(want.size > 0);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${prefix}: same ids`);
      for (const [id, line] of want) assert.equal(got.get(id), line, `${prefix}${id}`);
    }
    const readings = [...byId(await deliveredLines(clients, multi.names.bucket, 'results/')).keys()].filter(
      (id) => id.includes(':r:'),
    );
    assert.equal(readings.length, 8 * 120, 'every reading delivered');
  });

  it('a shard split mid-stream keeps per-device order: the parent is finished before a child starts', async () => {
    const resources = await isolatedResources(clients, 'split', 1);
    const stream = resources.names.stream;
    const table = new LeaseTable(clients.dynamodb, resources.names.leaseTable);
    const last = await putRecords(clients, stream, telemetry(6, 0, 40, baseMs));
    const delivered: EncodedOutput[] = [];
    const recording = (sinks: Sinks): Sinks => ({
      ...sinks,
      results: {
        async deliver(outputs) {
          await sinks.results.deliver(outputs);
          delivered.push(...outputs);
        },
      },
    });

    let split = false;
    let childLast: Map<string, string> | undefined;
    const parentId = [...last.keys()][0]!;
    await runInProcess(
      clients,
      stack,
      resources,
      (leases) => {
        const parent = leases.find((l) => l.leaseKey === parentId);
        if (!split && parent?.checkpoint === last.get(parentId)) {
          split = true;
          void splitAndWrite().then((value) => {
            childLast = value;
          });
        }
        return (
          childLast !== undefined && parent?.checkpoint === 'SHARD_END' && allCheckpointed(childLast)(leases)
        );
      },
      recording,
    );

    async function splitAndWrite(): Promise<Map<string, string>> {
      await clients.kinesis.send(
        new SplitShardCommand({
          StreamName: stream,
          ShardToSplit: parentId,
          NewStartingHashKey: (2n ** 127n).toString(),
        }),
      );
      await eventually(
        async () =>
          (await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
            .StreamDescriptionSummary?.StreamStatus === 'ACTIVE'
            ? true
            : undefined,
        10_000,
        'split done',
      );
      const shards = (await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
      assert.equal(shards.filter((s) => s.ParentShardId === parentId).length, 2);
      const children = await putRecords(clients, stream, telemetry(6, 40, 80, baseMs));
      assert.ok(!children.has(parentId), 'new records go to the children');
      return children;
    }

    const leases = await table.listLeases();
    assert.equal(leases.length, 3);
    for (const child of leases.filter((l) => l.leaseKey !== parentId))
      assert.deepEqual(child.parentShardIds, [parentId]);

    // Per device, readings were handed to the sink in seq order across parent and child: 0..79, no gaps.
    const seqsByDevice = new Map<string, number[]>();
    for (const output of delivered) {
      if (output.kind !== 'reading') continue;
      const seq = Number(output.id.split(':r:')[1]);
      seqsByDevice.set(output.deviceId, [...(seqsByDevice.get(output.deviceId) ?? []), seq]);
    }
    assert.equal(seqsByDevice.size, 6);
    for (const [device, seqs] of seqsByDevice) {
      assert.deepEqual(
        seqs,
        Array.from({ length: 80 }, (_, i) => i),
        device,
      );
    }
    // The children resumed from the parent's final state: no false gap reported at the split.
    assert.ok(!delivered.some((output) => output.kind === 'missing'));
  });
});

async function checkpoints(table: LeaseTable): Promise<Array<[string, string]>> {
  return (await table.listLeases()).map((lease) => [lease.leaseKey, lease.checkpoint]);
}
