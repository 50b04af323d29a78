/**
 * K embedded workers in this process, sharing one lease table, with every port instrumented so the run
 * can watch them. Each worker is the same runner `worker-main.ts` starts in its own process; in-process
 * they share the event loop, which on a small machine is cheaper than K Node processes.
 */
import type { AwsClients } from '../consumers/aws/clients.ts';
import { LeaseTable } from '../consumers/leases/lease-table.ts';
import { syncShardLeases } from '../consumers/leases/shard-sync.ts';
import type { SnapshotStore } from '../consumers/leases/snapshot-store.ts';
import type { Logger } from '../consumers/observability/logger.ts';
import type { Metrics } from '../consumers/observability/metrics.ts';
import type { OutcomeStage, RecordProcessorApi } from '../consumers/processor/types.ts';
import { type RunningWorker, startWorker, type WorkerProps } from '../consumers/runtimes/worker.ts';
import type { Sinks } from '../consumers/sinks/ports.ts';
import { instrument, observingMetrics, PipelineCounters } from './observe.ts';

export interface ConsumerFleetProps {
  readonly streamName: string;
  readonly leaseTableName: string;
  /** Workers in this process, each with its own worker id. @default 2 */
  readonly workers?: number;
  /** Settings for every worker (stream name and worker id are set here). @default WorkerProps defaults */
  readonly worker?: Omit<WorkerProps, 'streamName' | 'workerId'>;
  /** Prefix of the worker ids: `${prefix}-1` … `${prefix}-K`. @default 'worker' */
  readonly workerIdPrefix?: string;
  /** Shards of the stream, when known: each worker then takes at most its even share. */
  readonly shards?: number;
  /** See InstrumentOptions. @default true */
  readonly perRecordVerdicts?: boolean;
}

export interface ConsumerFleetDeps {
  readonly clients: Pick<AwsClients, 'kinesis' | 'dynamodb'>;
  readonly sinks: Sinks;
  readonly snapshots: SnapshotStore;
  readonly createProcessor: () => RecordProcessorApi;
  /** A stage per shard between processing and delivery (the model review). @default none */
  readonly createStage?: () => OutcomeStage;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ConsumerFleet {
  readonly counters: PipelineCounters;
  readonly workers: readonly RunningWorker[];
  /** Graceful stop of every worker: deliver and checkpoint what was read, give the leases back. */
  stop(): Promise<void>;
}

export async function startConsumerFleet(
  props: ConsumerFleetProps,
  deps: ConsumerFleetDeps,
): Promise<ConsumerFleet> {
  const count = props.workers ?? 2;
  const shardCount = props.shards;
  const counters = new PipelineCounters();
  const table = new LeaseTable(deps.clients.dynamodb, props.leaseTableName);
  await table.ensureTable();
  // Leases exist before any worker's first take round; otherwise a worker whose first scan ran before
  // another created them waits a whole take interval (a third of the lease duration) to start.
  const existing = new Set((await table.listLeases()).map((lease) => lease.leaseKey));
  await syncShardLeases(
    deps.clients.kinesis,
    props.streamName,
    table,
    props.worker?.initialPosition ?? 'TRIM_HORIZON',
    existing,
  );
  const { createProcessor, sinks, createStage } = instrument(
    counters,
    deps.createProcessor,
    deps.sinks,
    { perRecordVerdicts: props.perRecordVerdicts ?? true },
    deps.createStage,
  );
  const metrics = observingMetrics(deps.metrics, counters);
  const workers: RunningWorker[] = [];
  for (let i = 1; i <= count; i++) {
    const worker = startWorker(
      {
        // An even split from the start: no lease changes hands mid-run only to rebalance.
        ...(shardCount === undefined ? {} : { maxLeasesPerWorker: Math.ceil(shardCount / count) }),
        ...props.worker,
        streamName: props.streamName,
        workerId: `${props.workerIdPrefix ?? 'worker'}-${i}`,
      },
      {
        kinesis: deps.clients.kinesis,
        table,
        snapshots: deps.snapshots,
        sinks,
        createProcessor,
        ...(createStage === undefined ? {} : { createStage }),
        logger: deps.logger,
        metrics,
      },
    );
    workers.push(worker);
    // Every worker picks the same free leases in the same order, so workers that start together collide
    // and the losers wait a whole take interval. Started one after the other, each finds its share free.
    if (shardCount !== undefined && i < count) {
      const share = Math.min(
        Math.ceil(shardCount / count),
        shardCount - (i - 1) * Math.ceil(shardCount / count),
      );
      await waitUntil(() => worker.heldShards().length >= share, 2_000);
    }
  }
  return {
    counters,
    workers,
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}

/** Polls `done` every `intervalMs` until it holds; false when `timeoutMs` passed first or `signal` aborted. */
export async function waitUntil(
  done: () => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline || signal?.aborted === true) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return true;
}
