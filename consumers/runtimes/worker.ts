/**
 * The embedded runner for one machine: a lease coordinator loop (sync shards → renew held leases →
 * take/steal by fair share → start a shard worker per new lease) and the shard workers it runs.
 * Run one per process with its own `workerId`; several processes (or machines) share the lease table.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ConfigError } from '../contract/errors.ts';
import { planTakes } from '../leases/balance.ts';
import type { InitialPosition, Lease } from '../leases/lease.ts';
import type { LeaseTable } from '../leases/lease-table.ts';
import { syncShardLeases } from '../leases/shard-sync.ts';
import type { SnapshotStore } from '../leases/snapshot-store.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { OutcomeStage, RecordProcessorApi } from '../processor/types.ts';
import type { Sinks } from '../sinks/ports.ts';
import { sleep } from '../sinks/retry.ts';
import { HeldLease } from './held-lease.ts';
import { runShardWorker, type ShardOutcome, type ShardWorkerConfig } from './shard-worker.ts';

export interface WorkerProps {
  readonly streamName: string;
  /** Unique per process. @default `${hostname}-${pid}-${random}` */
  readonly workerId?: string;
  /**
   * A lease whose counter has not moved for this long (on the observer's clock) is expired and may be
   * taken. Takeover after a worker dies takes at most leaseDuration + renewInterval + takeInterval.
   * @default 10000 (ms, KCL's failoverTimeMillis)
   */
  readonly leaseDurationMs?: number;
  /** How often held leases are renewed. Must leave room for a slow write before expiry. @default leaseDurationMs / 3 */
  readonly renewIntervalMs?: number;
  /** How often the table is scanned to take free, expired or stealable leases. @default leaseDurationMs / 3 */
  readonly takeIntervalMs?: number;
  /** How often ListShards runs to create leases for new shards (after a reshard). @default 10000 (ms) */
  readonly shardSyncIntervalMs?: number;
  /** @default Infinity */
  readonly maxLeasesPerWorker?: number;
  /** For shards without a checkpoint. @default 'TRIM_HORIZON' */
  readonly initialPosition?: InitialPosition;
  /** Required with AT_TIMESTAMP. Epoch ms. */
  readonly initialTimestampMs?: number;
  /** @default 1000 */
  readonly maxRecords?: number;
  /** @default 1000 (ms) */
  readonly idleTimeBetweenReadsMs?: number;
  /** @default 2 */
  readonly maxInFlightBatches?: number;
  /** @default 1000 (ms) */
  readonly checkpointIntervalMs?: number;
  /** @default 100 (ms) */
  readonly backoffBaseMs?: number;
  /** @default 5000 (ms) */
  readonly backoffMaxMs?: number;
  /** How long a graceful stop waits for in-flight batches before giving the leases back anyway. @default 30000 (ms) */
  readonly drainTimeoutMs?: number;
}

export type WorkerConfig = Required<Omit<WorkerProps, 'initialTimestampMs'>> & {
  initialTimestampMs?: number;
};

export function resolveWorkerConfig(props: WorkerProps): WorkerConfig {
  const leaseDurationMs = props.leaseDurationMs ?? 10_000;
  const config: WorkerConfig = {
    streamName: props.streamName,
    workerId: props.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseDurationMs,
    renewIntervalMs: props.renewIntervalMs ?? Math.floor(leaseDurationMs / 3),
    takeIntervalMs: props.takeIntervalMs ?? Math.floor(leaseDurationMs / 3),
    shardSyncIntervalMs: props.shardSyncIntervalMs ?? 10_000,
    maxLeasesPerWorker: props.maxLeasesPerWorker ?? Number.POSITIVE_INFINITY,
    initialPosition: props.initialPosition ?? 'TRIM_HORIZON',
    maxRecords: props.maxRecords ?? 1000,
    idleTimeBetweenReadsMs: props.idleTimeBetweenReadsMs ?? 1000,
    maxInFlightBatches: props.maxInFlightBatches ?? 2,
    checkpointIntervalMs: props.checkpointIntervalMs ?? 1000,
    backoffBaseMs: props.backoffBaseMs ?? 100,
    backoffMaxMs: props.backoffMaxMs ?? 5000,
    drainTimeoutMs: props.drainTimeoutMs ?? 30_000,
    ...(props.initialTimestampMs === undefined ? {} : { initialTimestampMs: props.initialTimestampMs }),
  };
  if (config.streamName === '') throw new ConfigError('streamName is required');
  if (config.renewIntervalMs >= config.leaseDurationMs) {
    throw new ConfigError(
      'renewIntervalMs must be shorter than leaseDurationMs, or leases expire between renewals',
    );
  }
  if (config.maxRecords < 1 || config.maxRecords > 10_000)
    throw new ConfigError('maxRecords must be 1..10000');
  if (config.maxInFlightBatches < 1) throw new ConfigError('maxInFlightBatches must be at least 1');
  if (config.initialPosition === 'AT_TIMESTAMP' && config.initialTimestampMs === undefined) {
    throw new ConfigError('initialPosition AT_TIMESTAMP needs initialTimestampMs');
  }
  return config;
}

export interface WorkerDeps {
  readonly kinesis: KinesisClient;
  readonly table: LeaseTable;
  readonly snapshots: SnapshotStore;
  readonly sinks: Sinks;
  /** A fresh processor per shard: state is per shard and travels with its lease. */
  readonly createProcessor: () => RecordProcessorApi;
  /** A fresh stage per shard, run on each batch before delivery. @default none */
  readonly createStage?: () => OutcomeStage;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface RunningWorker {
  readonly workerId: string;
  /** Shards this worker currently runs. */
  heldShards(): string[];
  /** Shards this worker saw to SHARD_END. */
  finishedShards(): string[];
  /** Graceful stop: drain and checkpoint every shard, give the leases back. */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped. */
  readonly done: Promise<void>;
}

interface RunningShard {
  readonly lease: HeldLease;
  readonly run: Promise<ShardOutcome | 'failed'>;
}

export function startWorker(props: WorkerProps, deps: WorkerDeps): RunningWorker {
  const config = resolveWorkerConfig(props);
  const log = deps.logger.child({ workerId: config.workerId });
  const stopping = new AbortController();
  const running = new Map<string, RunningShard>();
  const finished = new Set<string>();
  /** What this worker saw of each lease's counter, and since when (its own clock): the expiry rule. */
  const observed = new Map<string, { counter: number; sinceMs: number }>();
  const shardConfig: ShardWorkerConfig = {
    streamName: config.streamName,
    maxRecords: config.maxRecords,
    idleTimeBetweenReadsMs: config.idleTimeBetweenReadsMs,
    maxInFlightBatches: config.maxInFlightBatches,
    checkpointIntervalMs: config.checkpointIntervalMs,
    backoff: { baseDelayMs: config.backoffBaseMs, maxDelayMs: config.backoffMaxMs },
    ...(config.initialTimestampMs === undefined ? {} : { initialTimestampMs: config.initialTimestampMs }),
  };

  const startShard = (lease: Lease): void => {
    const held = new HeldLease(deps.table, lease);
    const metrics = deps.metrics.withDimensions({ ShardId: lease.leaseKey });
    const run = runShardWorker(
      held,
      shardConfig,
      {
        ...deps,
        processor: deps.createProcessor(),
        ...(deps.createStage === undefined ? {} : { stage: deps.createStage() }),
        metrics,
      },
      stopping.signal,
    ).catch((error: unknown) => {
      log.error('shard worker failed; giving the lease back', { shardId: lease.leaseKey, error });
      return 'failed' as const;
    });
    running.set(lease.leaseKey, { lease: held, run });
    void run.then(async (outcome) => {
      metrics.flush();
      running.delete(lease.leaseKey);
      if (outcome === 'shard-end') finished.add(lease.leaseKey);
      else if (outcome === 'failed') await held.release().catch(() => undefined);
      log.info('shard worker ended', { shardId: lease.leaseKey, outcome });
    });
    log.info('shard worker started', {
      shardId: lease.leaseKey,
      checkpoint: lease.checkpoint,
      counter: lease.leaseCounter,
    });
  };

  const renewAll = async (): Promise<void> => {
    await Promise.all(
      [...running.values()].map(async ({ lease }) => {
        try {
          if (!(await lease.renew())) {
            deps.metrics.count('LeasesLost');
            log.warn('lease lost on renewal', { shardId: lease.shardId });
          }
        } catch (error) {
          // A failed call is not a lost lease: the next renewal may still land before expiry.
          log.warn('lease renewal failed', { shardId: lease.shardId, error });
        }
      }),
    );
  };

  const takeLeases = async (): Promise<void> => {
    const leases = await deps.table.listLeases();
    const now = Date.now();
    const expired = new Set<string>();
    for (const lease of leases) {
      const seen = observed.get(lease.leaseKey);
      if (seen === undefined || seen.counter !== lease.leaseCounter) {
        observed.set(lease.leaseKey, { counter: lease.leaseCounter, sinceMs: now });
      } else if (now - seen.sinceMs > config.leaseDurationMs && !running.has(lease.leaseKey)) {
        expired.add(lease.leaseKey);
      }
    }
    // Leases this worker holds count as ours even if the table read raced a renewal.
    const view = leases.map((lease) =>
      running.has(lease.leaseKey) ? { ...lease, leaseOwner: config.workerId } : lease,
    );
    const plan = planTakes({
      leases: view,
      workerId: config.workerId,
      expired,
      maxLeasesPerWorker: config.maxLeasesPerWorker,
    });
    const candidates = plan.steal === undefined ? plan.take : [plan.steal];
    for (const candidate of candidates) {
      const original = leases.find((lease) => lease.leaseKey === candidate.leaseKey) ?? candidate;
      if (running.has(original.leaseKey)) continue;
      const taken = await deps.table.takeLease(original, config.workerId);
      if (taken === undefined) continue; // another worker won the race
      deps.metrics.count(plan.steal === undefined ? 'LeasesTaken' : 'LeasesStolen');
      log.info(plan.steal === undefined ? 'lease taken' : 'lease stolen', {
        shardId: taken.leaseKey,
        previousOwner: original.leaseOwner,
      });
      observed.set(taken.leaseKey, { counter: taken.leaseCounter, sinceMs: Date.now() });
      startShard(taken);
    }
  };

  const coordinate = async (): Promise<void> => {
    let nextSync = 0;
    let nextTake = 0;
    while (!stopping.signal.aborted) {
      const now = Date.now();
      try {
        if (now >= nextSync) {
          const leases = await deps.table.listLeases();
          const created = await syncShardLeases(
            deps.kinesis,
            config.streamName,
            deps.table,
            config.initialPosition,
            new Set(leases.map((lease) => lease.leaseKey)),
          );
          if (created > 0) log.info('leases created for new shards', { created });
          nextSync = now + config.shardSyncIntervalMs;
        }
        await renewAll();
        if (now >= nextTake) {
          await takeLeases();
          nextTake = now + config.takeIntervalMs;
        }
      } catch (error) {
        log.warn('coordinator round failed', { error });
      }
      deps.metrics.gauge('LeasesHeld', running.size, 'Count');
      deps.metrics.flush();
      await sleep(Math.min(config.renewIntervalMs, config.takeIntervalMs), stopping.signal);
    }
  };

  const loop = coordinate();

  const done = (async () => {
    await loop;
    const draining = [...running.values()];
    // Keep renewing while draining, so no one takes a lease whose last batch is still being delivered.
    let drainOver = false;
    const drainTimer = new AbortController();
    const renewWhileDraining = (async () => {
      while (!drainOver) {
        await renewAll();
        await sleep(config.renewIntervalMs, drainTimer.signal);
      }
    })();
    // The timers are cancelled once drained, or they alone would keep the process alive until they fire.
    const timedOut = await Promise.race([
      Promise.all(draining.map(({ run }) => run)).then(() => false),
      sleep(config.drainTimeoutMs, drainTimer.signal).then(() => !drainTimer.signal.aborted),
    ]);
    drainTimer.abort();
    drainOver = true;
    await renewWhileDraining;
    if (timedOut) log.warn('drain timed out; leases are given back without a final checkpoint');
    // Hand the leases back so the next owner starts now rather than after a lease duration.
    await Promise.all(draining.map(({ lease }) => lease.release().catch(() => undefined)));
    deps.metrics.flush();
    log.info('worker stopped', { drained: draining.length, timedOut });
  })();

  return {
    workerId: config.workerId,
    heldShards: () => [...running.keys()].sort(),
    finishedShards: () => [...finished].sort(),
    async stop() {
      stopping.abort();
      await done;
    },
    done,
  };
}
