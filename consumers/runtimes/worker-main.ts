/**
 * One embedded worker process: `node --import tsx consumers/runtimes/worker-main.ts`.
 * Run several (each gets its own workerId) against the same lease table to spread the shards.
 * SIGTERM/SIGINT drain: in-flight batches are delivered and checkpointed, leases are given back.
 *
 * Worker settings come from the environment (all optional, defaults in WorkerProps):
 * FLEETSTREAM_WORKER_ID, FLEETSTREAM_LEASE_DURATION_MS, FLEETSTREAM_IDLE_BETWEEN_READS_MS,
 * FLEETSTREAM_MAX_RECORDS, FLEETSTREAM_CHECKPOINT_INTERVAL_MS, FLEETSTREAM_INITIAL_POSITION,
 * FLEETSTREAM_INITIAL_TIMESTAMP_MS, FLEETSTREAM_SHARD_SYNC_INTERVAL_MS.
 */
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../contract/errors.ts';
import type { InitialPosition } from '../leases/lease.ts';
import { LeaseTable } from '../leases/lease-table.ts';
import { createLogger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { createRecordProcessor } from '../processor/record-processor.ts';
import { clientsFor, createRuntimeParts, runtimeConfigFromEnv } from './runtime.ts';
import { startWorker, type WorkerProps } from './worker.ts';

function optionalNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${name} must be a non-negative number`);
  return value;
}

export function workerPropsFromEnv(streamName: string, env: NodeJS.ProcessEnv = process.env): WorkerProps {
  const position = env.FLEETSTREAM_INITIAL_POSITION;
  if (position !== undefined && !['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'].includes(position)) {
    throw new ConfigError('FLEETSTREAM_INITIAL_POSITION must be TRIM_HORIZON, LATEST or AT_TIMESTAMP');
  }
  const props: Record<string, unknown> = {
    streamName,
    workerId: env.FLEETSTREAM_WORKER_ID,
    leaseDurationMs: optionalNumber(env, 'FLEETSTREAM_LEASE_DURATION_MS'),
    idleTimeBetweenReadsMs: optionalNumber(env, 'FLEETSTREAM_IDLE_BETWEEN_READS_MS'),
    maxRecords: optionalNumber(env, 'FLEETSTREAM_MAX_RECORDS'),
    checkpointIntervalMs: optionalNumber(env, 'FLEETSTREAM_CHECKPOINT_INTERVAL_MS'),
    shardSyncIntervalMs: optionalNumber(env, 'FLEETSTREAM_SHARD_SYNC_INTERVAL_MS'),
    initialPosition: position as InitialPosition | undefined,
    initialTimestampMs: optionalNumber(env, 'FLEETSTREAM_INITIAL_TIMESTAMP_MS'),
  };
  for (const key of Object.keys(props)) if (props[key] === undefined) delete props[key];
  return props as unknown as WorkerProps;
}

async function main(): Promise<void> {
  const logger = createLogger({ service: 'fleetstream-worker', fields: { pid: process.pid } });
  const config = runtimeConfigFromEnv();
  const clients = clientsFor(config);
  const parts = await createRuntimeParts(config, clients);
  const table = new LeaseTable(clients.dynamodb, config.leaseTableName);
  await table.ensureTable();
  const worker = startWorker(workerPropsFromEnv(config.streamName), {
    kinesis: clients.kinesis,
    table,
    snapshots: parts.snapshots,
    sinks: parts.sinks,
    createProcessor: () => createRecordProcessor({ keepScoredReadings: parts.createStage !== undefined }),
    ...(parts.createStage === undefined ? {} : { createStage: parts.createStage }),
    logger,
    metrics: createMetrics({ dimensions: { Runtime: 'worker' } }),
  });
  logger.info('worker started', { workerId: worker.workerId, stream: config.streamName });
  const stop = (signal: string) => {
    logger.info('stopping: draining shards', { signal });
    void worker.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await worker.done;
  clients.destroy();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', message: 'worker failed', error: String(error) })}\n`,
    );
    process.exitCode = 1;
  });
}
