/**
 * bench:replay — rebuilding results from TRIM_HORIZON with `runReplay` (fresh lease table, the same
 * record processor, results through Firehose) against the raw GetRecords rate over the same records,
 * measured in the same run by the replay's own counting pass: `ratio_to_ceiling`. Lag here is when each
 * record's result was delivered, counted from the start of the replay (its completion profile): the
 * records' arrival times are history.
 *
 * The stream is pre-loaded with PutRecords (the simulator's `route: 'kinesis'`), not through the local
 * EventBridge. The stack runs in two child processes beside the consumers (local/process); the machine is
 * small and shared: compare ratios, not absolute rates.
 *
 * Env: BENCH_RECORDS (default 24000), BENCH_SHARDS (4), BENCH_WORKERS (2).
 */
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { startLocalStackProcess } from '../../local/process/stack-process.ts';
import { ensureResources } from '../../local/resources.ts';
import { LOCAL_ACCOUNT_ID, localClientsConfig } from '../../local/stack.ts';
import { runReplay } from '../../pipeline/replay.ts';
import { parseSimulationConfig } from '../../sim/config.ts';
import { runSimulation } from '../../sim/simulate.ts';
import { eventBridgePort, kinesisPort } from '../../sim/transport.ts';

const records = Number(process.env.BENCH_RECORDS ?? 24_000);
const shards = Number(process.env.BENCH_SHARDS ?? 4);
const workers = Number(process.env.BENCH_WORKERS ?? 2);
const DEVICES = 200;

const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'replay', ...line })}\n`);
};

async function main(): Promise<void> {
  const stack = await startLocalStackProcess();
  const clients = createAwsClients(localClientsConfig(stack));
  try {
    const resources = await ensureResources(clients, {}, { shardCount: shards, bufferIntervalSeconds: 900 });
    const config = parseSimulationConfig({
      devices: DEVICES,
      readingsPerDevice: Math.max(1, Math.round(records / DEVICES)),
      rate: Infinity,
      faults: 'default',
      route: 'kinesis',
      envelope: { account: LOCAL_ACCOUNT_ID },
      sender: { lanes: 8 },
    });
    const loaded = await runSimulation(config, {
      bus: eventBridgePort(clients.eventbridge, resources.names.bus),
      stream: kinesisPort(clients.kinesis, resources.names.stream),
    });
    emit({ phase: 'load', records: loaded.expected.sent, seconds: loaded.wallSeconds });

    const replayStarted = Date.now();
    const report = await runReplay(
      { workers, perRecordVerdicts: false, runId: 'bench', bufferIntervalSeconds: 900 },
      {
        clients,
        flushFirehose: () => stack.flushFirehose(),
        logger: silentLogger,
        metrics: createMetrics({ write: () => {} }),
      },
    );
    const ceiling = report.rawRead;
    emit({
      phase: 'ceiling',
      records: ceiling.records,
      seconds: ceiling.seconds,
      records_per_s: ceiling.recordsPerSecond,
    });
    const replayStart = replayStarted + ceiling.seconds * 1000;
    const completion = report.counters.deliveredAt.percentiles(0, replayStart);
    emit({
      phase: 'replay',
      records: report.processed,
      complete: report.complete,
      seconds: report.seconds,
      records_per_s: report.recordsPerSecond,
      outputs: report.outputsByKind,
      rejected: report.rejectedByReason,
    });
    emit({
      summary: true,
      shards,
      workers,
      records: report.records,
      ceiling_records_per_s: ceiling.recordsPerSecond,
      replay_records_per_s: report.recordsPerSecond,
      ratio_to_ceiling: report.recordsPerSecond / ceiling.recordsPerSecond,
      completion_ms: completion,
      complete: report.complete,
      note: 'stream pre-loaded with PutRecords (route kinesis); replay time includes taking the leases; consumers in this process, the stack in two child processes, 2 shared cores',
    });
  } finally {
    clients.destroy();
    await stack.stop();
  }
}

await main();
