import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { ownsPartitionKey } from '../../consumers/leases/hash-range.ts';
import { listAllShards } from '../../consumers/leases/shard-sync.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { readResults } from '../../pipeline/inventory.ts';
import { runReplay } from '../../pipeline/replay.ts';
import { type PipelineRun, runPipeline } from '../../pipeline/run.ts';

const quiet = { logger: silentLogger, metrics: createMetrics({ write: () => {} }) };

describe('replay after a full run', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  let run: PipelineRun;
  let liveIds: Set<string>;
  let runStartedMs: number;

  before(async () => {
    stack = await startLocalStack();
    clients = createAwsClients(localClientsConfig(stack));
    runStartedMs = Date.now();
    run = await runPipeline(
      { simulation: { devices: 6, durationSeconds: 4, rate: 150, seed: 3 }, shards: 2, workers: 1 },
      { stack, clients, ...quiet },
    );
    assert.equal(run.sections.accounting.balanced, true, 'setup: the live run is balanced');
    liveIds = new Set(run.inventory.ids);
  });
  after(async () => {
    clients?.destroy();
    await stack?.stop();
  });

  const flushFirehose = () => stack.standIns.firehose.flush();

  it('rebuilds exactly the same result ids under replay/<run-id>/, and nothing else', async () => {
    const report = await runReplay({ runId: 'all', workers: 2 }, { clients, flushFirehose, ...quiet });
    assert.equal(report.complete, true);
    assert.equal(
      report.records,
      run.simulation.expected.sent,
      'the raw read counts every record in the stream',
    );
    assert.equal(report.processed, report.records);
    assert.equal(report.prefix, 'replay/all/results/');
    const replayed = await readResults(clients.s3, report.bucket, report.prefix);
    assert.ok(liveIds.size > 0);
    assert.deepEqual([...replayed.ids].sort(), [...liveIds].sort());
    assert.deepEqual(report.rejectedByReason, run.sections.rejectsByReason);
    assert.equal(report.duplicates, run.sections.accounting.duplicates);
  });

  it('replays one chosen shard: exactly the live results of the devices that hash into it', async () => {
    const shards = await listAllShards(clients.kinesis, run.resources.names.stream);
    const shard = shards[1];
    assert.ok(shard?.ShardId !== undefined && shard.HashKeyRange !== undefined);
    const owns = ownsPartitionKey(shard.HashKeyRange);
    const report = await runReplay(
      { runId: 'one-shard', shards: [shard.ShardId] },
      { clients, flushFirehose, ...quiet },
    );
    assert.equal(report.complete, true);
    const replayed = await readResults(clients.s3, report.bucket, report.prefix);
    // Results are keyed by device; every result id starts with its device id.
    const expected = [...liveIds].filter((id) => owns(id.slice(0, id.indexOf(':')))).sort();
    assert.ok(expected.length > 0 && expected.length < liveIds.size, 'the shard holds some devices, not all');
    assert.deepEqual([...replayed.ids].sort(), expected);
  });

  it('from a timestamp before the run replays the same as from TRIM_HORIZON (AT_TIMESTAMP)', async () => {
    const report = await runReplay(
      { runId: 'at-timestamp', from: { type: 'AT_TIMESTAMP', timestampMs: runStartedMs } },
      { clients, flushFirehose, ...quiet },
    );
    assert.equal(report.complete, true);
    assert.equal(report.records, run.simulation.expected.sent);
    const replayed = await readResults(clients.s3, report.bucket, report.prefix);
    assert.deepEqual([...replayed.ids].sort(), [...liveIds].sort());
  });

  it('refuses a timestamp in the future with a ConfigError', async () => {
    await assert.rejects(
      runReplay(
        { runId: 'future', from: { type: 'AT_TIMESTAMP', timestampMs: Date.now() + 60_000 } },
        { clients, flushFirehose, ...quiet },
      ),
      (error: Error) => error.name === 'ConfigError' || /in the future/.test(error.message),
    );
  });
});
