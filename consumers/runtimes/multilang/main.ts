/**
 * Executable for the KCL MultiLangDaemon (`executableName` in fleetstream.properties). Stdout belongs to
 * the protocol: console output is rerouted to stderr before anything else runs, logs and EMF metrics
 * go to stderr (the daemon copies the child's stderr into its own log).
 */
import { format } from 'node:util';
import { ConfigError } from '../../contract/errors.ts';
import { ownsPartitionKey } from '../../leases/hash-range.ts';
import { listAllShards, parentsOf } from '../../leases/shard-sync.ts';
import { createLogger } from '../../observability/logger.ts';
import { createMetrics } from '../../observability/metrics.ts';
import { createRecordProcessor } from '../../processor/record-processor.ts';
import { clientsFor, createRuntimeParts, runtimeConfigFromEnv } from '../runtime.ts';
import { MultiLangChannel } from './channel.ts';
import { createRecordProcessorHost, type ParentLookup } from './record-processor-host.ts';

// A dependency that logs with console.log must not corrupt the protocol.
for (const method of ['log', 'info', 'debug'] as const) {
  console[method] = (...args: unknown[]) => process.stderr.write(`${format(...args)}\n`);
}

const logger = createLogger({ service: 'fleetstream-multilang', fields: { pid: process.pid } });

// The daemon closed its end of stdout (it died or gave up on the child): say so and stop, no stack trace.
process.stdout.on('error', (error) => {
  logger.error('cannot write to the daemon; exiting', { error });
  process.exit(1);
});

/** Env `FLEETSTREAM_CHECKPOINT_INTERVAL_MS`: least time between checkpoints. @default 1000 (ms) */
function checkpointIntervalFromEnv(): number {
  const raw = process.env.FLEETSTREAM_CHECKPOINT_INTERVAL_MS;
  if (raw === undefined) return 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new ConfigError('FLEETSTREAM_CHECKPOINT_INTERVAL_MS must be >= 0');
  return value;
}

async function main(): Promise<number> {
  const config = runtimeConfigFromEnv();
  const clients = clientsFor(config);
  // State snapshots always go to S3: the daemon's lease table has no room for them.
  const parts = await createRuntimeParts(config, clients, { inlineSnapshotMaxBytes: -1 });
  const parents: ParentLookup = {
    async parentsOf(shardId) {
      const shard = (await listAllShards(clients.kinesis, config.streamName)).find(
        (s) => s.ShardId === shardId,
      );
      if (shard === undefined) return undefined;
      return { parents: parentsOf(shard), owns: ownsPartitionKey(shard.HashKeyRange ?? {}) };
    },
  };
  const channel = new MultiLangChannel(process.stdout, logger);
  const host = createRecordProcessorHost({
    channel,
    createProcessor: () => createRecordProcessor({ keepScoredReadings: parts.createStage !== undefined }),
    ...(parts.createStage === undefined ? {} : { createStage: parts.createStage }),
    sinks: parts.sinks,
    snapshots: parts.snapshots,
    parents,
    logger,
    metrics: createMetrics({ dimensions: { Runtime: 'multilang' } }),
    checkpointIntervalMs: checkpointIntervalFromEnv(),
  });
  try {
    await channel.run(process.stdin, (action) => host.handle(action));
  } finally {
    clients.destroy();
  }
  logger.info('daemon closed the input; exiting');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Exiting without a status makes the daemon restart the shard from its last checkpoint: no loss.
    logger.error('record processor failed', { error });
    process.exitCode = 1;
    process.stdin.destroy(); // a protocol violation may leave the input open: do not wait on it
  },
);
