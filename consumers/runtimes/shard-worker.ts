/**
 * One shard, top to bottom: restore state → GetRecords → process → deliver to sinks → checkpoint.
 *
 * Rules this loop keeps:
 * - The checkpoint (with the state snapshot taken right after the batch was processed) is written only
 *   after every output of that batch was acknowledged by the sinks: at least once, never lost.
 * - Commits happen in batch order; fetching runs ahead by at most `maxInFlightBatches`, which is the
 *   back-pressure: a slow sink stops the reads, so memory stays bounded. Per shard, heap beyond the
 *   processor's own state is at most (maxInFlightBatches + 1) × (one GetRecords response — maxRecords
 *   records, which Kinesis caps at 10 MiB — plus its encoded outputs and one state snapshot).
 *   `bench:backpressure` shows the bound holding under a slow sink.
 * - Outputs have deterministic ids, so re-delivery after a crash or a takeover is de-duplicable.
 * - Stop (SIGTERM) drains: no new reads, in-flight batches are delivered and checkpointed.
 *   Lease lost: stop at once, never write the checkpoint again (the table would refuse it anyway).
 */
import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import type { StreamRecord } from '../contract/outputs.ts';
import { ownsPartitionKey } from '../leases/hash-range.ts';
import { type Checkpoint, isSequenceNumber, SHARD_END } from '../leases/lease.ts';
import type { LeaseTable } from '../leases/lease-table.ts';
import { listAllShards } from '../leases/shard-sync.ts';
import type { SnapshotStore } from '../leases/snapshot-store.ts';
import { countBatch } from '../observability/batch-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { mergeOutcomes } from '../processor/outcome.ts';
import { throughStage } from '../processor/stage.ts';
import type { BatchOutcome, OutcomeStage, RecordProcessorApi } from '../processor/types.ts';
import { deliverOutcome, type Sinks } from '../sinks/ports.ts';
import { backoffDelayMs, isRetryableAwsError, sleep } from '../sinks/retry.ts';
import { type HeldLease, LeaseLostError } from './held-lease.ts';

export interface ShardWorkerConfig {
  readonly streamName: string;
  /** Records per GetRecords call (Kinesis allows up to 10,000). @default 1000 */
  readonly maxRecords: number;
  /** Pause after an empty read, or when caught up. Kinesis allows 5 GetRecords per shard per second. @default 1000 (ms) */
  readonly idleTimeBetweenReadsMs: number;
  /** Processed batches waiting for delivery/checkpoint before reads pause. @default 2 */
  readonly maxInFlightBatches: number;
  /** Least time between checkpoints; 0 checkpoints every batch. Shard end and drain always checkpoint. @default 1000 (ms) */
  readonly checkpointIntervalMs: number;
  /** Used when the lease says AT_TIMESTAMP. Epoch ms. */
  readonly initialTimestampMs?: number;
  /** Backoff for throttling, 5xx and failed deliveries. */
  readonly backoff: { readonly baseDelayMs: number; readonly maxDelayMs: number };
}

export interface ShardWorkerDeps {
  readonly kinesis: KinesisClient;
  readonly table: LeaseTable;
  readonly snapshots: SnapshotStore;
  readonly sinks: Sinks;
  readonly processor: RecordProcessorApi;
  /** Runs on each batch before delivery. @default none — batches go out as processed */
  readonly stage?: OutcomeStage;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export type ShardOutcome = 'shard-end' | 'drained' | 'lease-lost';

/** One processed batch on its way to the sinks. */
interface Commit {
  readonly outcome: BatchOutcome;
  /** Where to checkpoint once delivered; undefined when this batch is not a checkpoint point. */
  readonly checkpoint: Checkpoint | undefined;
  readonly snapshot: Uint8Array | undefined;
}

export async function runShardWorker(
  lease: HeldLease,
  config: ShardWorkerConfig,
  deps: ShardWorkerDeps,
  stopSignal: AbortSignal,
): Promise<ShardOutcome> {
  const log = deps.logger.child({ shardId: lease.shardId });
  const abort = AbortSignal.any([stopSignal, lease.lostSignal]);
  const startCheckpoint = lease.current.checkpoint;
  if (startCheckpoint === SHARD_END) return 'shard-end';

  await restoreState(lease, config.streamName, deps, log);
  let iterator: string | undefined = await getIterator(startCheckpoint, undefined);
  let lastFetched: string | undefined;
  let lastCheckpointAt = Date.now();
  let uncheckpointed: string | undefined;

  // The commit pipeline: a chain (commits stay in order) and a count (bounds how far reads run ahead).
  let commitChain: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let commitFailure: unknown;
  const slotFreed: Array<() => void> = [];
  const enqueue = (commit: Commit): void => {
    inFlight++;
    commitChain = commitChain.then(async () => {
      try {
        if (commitFailure === undefined) await deliverAndCheckpoint(commit);
      } catch (error) {
        commitFailure = error;
      } finally {
        inFlight--;
        slotFreed.shift()?.();
      }
    });
  };

  while (!abort.aborted && commitFailure === undefined) {
    while (inFlight >= config.maxInFlightBatches && commitFailure === undefined) {
      await new Promise<void>((resolve) => slotFreed.push(resolve));
    }
    if (commitFailure !== undefined || abort.aborted) break;

    const response = await getRecords(iterator as string);
    if (response === undefined) break;
    const records = toStreamRecords(response, lease.shardId);
    const shardEnded = response.NextShardIterator === undefined || response.NextShardIterator === null;

    if (records.length > 0) {
      const outcome = deps.processor.process(records);
      lastFetched = records[records.length - 1]?.sequenceNumber;
      countBatch(deps.metrics, outcome);
      const due = Date.now() - lastCheckpointAt >= config.checkpointIntervalMs;
      if (due && !shardEnded) lastCheckpointAt = Date.now();
      enqueue({
        outcome,
        checkpoint: due && !shardEnded ? lastFetched : undefined,
        snapshot: due && !shardEnded ? deps.processor.snapshot() : undefined,
      });
      uncheckpointed = due && !shardEnded ? undefined : lastFetched;
    }
    if (typeof response.MillisBehindLatest === 'number') {
      deps.metrics.gauge('MillisBehindLatest', response.MillisBehindLatest, 'Milliseconds');
    }

    if (shardEnded) {
      // Close every window so the children start settled, then mark the shard finished with that state.
      enqueue({
        outcome: deps.processor.flush(),
        checkpoint: SHARD_END,
        snapshot: deps.processor.snapshot(),
      });
      uncheckpointed = undefined;
      await commitChain;
      if (commitFailure !== undefined) return failureOutcome(commitFailure);
      log.info('shard finished', { checkpoint: SHARD_END });
      return 'shard-end';
    }
    iterator = response.NextShardIterator as string;
    // Caught up: wait before polling again. A full page means more is waiting whatever MillisBehindLatest
    // says (the embedded Kinesis always answers 0), so read on at once.
    const caughtUp =
      records.length === 0 || (response.MillisBehindLatest === 0 && records.length < config.maxRecords);
    if (caughtUp) await sleep(config.idleTimeBetweenReadsMs, abort);
  }

  // Drain: deliver what was processed, then checkpoint the last processed record with the current state
  // (nothing was processed after it, so the processor's state is exactly the state at that record).
  if (!lease.isLost && commitFailure === undefined && uncheckpointed !== undefined) {
    enqueue({ outcome: mergeOutcomes([]), checkpoint: uncheckpointed, snapshot: deps.processor.snapshot() });
  }
  await commitChain;
  if (lease.isLost) return 'lease-lost';
  if (commitFailure !== undefined) return failureOutcome(commitFailure);
  return 'drained';

  function failureOutcome(error: unknown): ShardOutcome {
    if (error instanceof LeaseLostError) return 'lease-lost';
    throw error;
  }

  async function deliverAndCheckpoint(commit: Commit): Promise<void> {
    const outcome = await throughStage(deps.stage, commit.outcome, { metrics: deps.metrics, log });
    const resultLines = outcome.results;
    await untilDelivered(() => deliverOutcome(deps.sinks, outcome));
    deps.metrics.count(
      'OutputsDelivered',
      resultLines.length + outcome.archive.length + outcome.rejections.length,
    );
    if (commit.checkpoint === undefined) return;
    if (lease.isLost) throw new LeaseLostError(lease.shardId);
    const ref =
      commit.snapshot === undefined
        ? undefined
        : await untilDelivered(() =>
            deps.snapshots.save(lease.shardId, commit.checkpoint as string, commit.snapshot as Uint8Array),
          );
    await lease.checkpoint(commit.checkpoint, ref);
    deps.metrics.count('Checkpoints');
    log.debug('checkpointed', { checkpoint: commit.checkpoint });
  }

  /**
   * Sinks already retried their failed entries; a batch that still failed is retried whole (same ids)
   * until it goes through or the lease is lost. Never skipped: skipping would lose outputs.
   */
  async function untilDelivered<T>(attempt: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      try {
        return await attempt();
      } catch (error) {
        if (lease.isLost) throw new LeaseLostError(lease.shardId);
        deps.metrics.count('DeliveryRetries');
        log.warn('delivery failed, retrying the batch', { error, failures });
        await sleep(backoffDelayMs(failures, config.backoff), lease.lostSignal);
      }
    }
  }

  async function getIterator(checkpoint: Checkpoint, afterSequence: string | undefined): Promise<string> {
    const position = afterSequence ?? checkpoint;
    const type: ShardIteratorType = isSequenceNumber(position)
      ? 'AFTER_SEQUENCE_NUMBER'
      : (position as ShardIteratorType);
    for (let failures = 0; ; failures++) {
      try {
        const response = await deps.kinesis.send(
          new GetShardIteratorCommand({
            StreamName: config.streamName,
            ShardId: lease.shardId,
            ShardIteratorType: type,
            ...(type === 'AFTER_SEQUENCE_NUMBER' ? { StartingSequenceNumber: position } : {}),
            ...(type === 'AT_TIMESTAMP'
              ? { Timestamp: new Date(config.initialTimestampMs ?? Date.now()) }
              : {}),
          }),
        );
        if (response.ShardIterator === undefined) throw new Error('GetShardIterator returned no iterator');
        return response.ShardIterator;
      } catch (error) {
        if (abort.aborted) throw error;
        log.warn('GetShardIterator failed', { error, failures, retryable: isRetryableAwsError(error) });
        await sleep(backoffDelayMs(failures, config.backoff), abort);
      }
    }
  }

  /** Undefined only when stopping. Throttling, 5xx and expired iterators are handled here. */
  async function getRecords(shardIterator: string): Promise<GetRecordsCommandOutput | undefined> {
    let current = shardIterator;
    for (let failures = 0; !abort.aborted; failures++) {
      try {
        return await deps.kinesis.send(
          new GetRecordsCommand({ ShardIterator: current, Limit: config.maxRecords }),
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'ExpiredIteratorException') {
          // Iterators live 5 minutes; resume right after the last record this worker processed.
          current = await getIterator(startCheckpoint, lastFetched);
          continue;
        }
        deps.metrics.count(isRetryableAwsError(error) ? 'ReadThrottles' : 'ReadErrors');
        log.warn('GetRecords failed, backing off', { error, failures });
        await sleep(backoffDelayMs(failures, config.backoff), abort);
      }
    }
    return undefined;
  }
}

/** Resume warm: the lease's own snapshot, or for a fresh child shard, the merge of its parents' final ones. */
async function restoreState(
  lease: HeldLease,
  streamName: string,
  deps: ShardWorkerDeps,
  log: Logger,
): Promise<void> {
  const own = lease.current.snapshot;
  if (own !== undefined) {
    deps.processor.restore([await deps.snapshots.load(own)]);
    log.info('state restored', { checkpoint: lease.current.checkpoint, devices: deps.processor.deviceCount });
    return;
  }
  if (isSequenceNumber(lease.current.checkpoint) || lease.current.parentShardIds.length === 0) return;
  const parentSnapshots: Uint8Array[] = [];
  for (const parentId of lease.current.parentShardIds) {
    const parent = await deps.table.getLease(parentId);
    if (parent?.snapshot !== undefined) parentSnapshots.push(await deps.snapshots.load(parent.snapshot));
  }
  if (parentSnapshots.length > 0) {
    // After a split both children inherit the parent's state; each keeps only the devices it now receives.
    const self = (await listAllShards(deps.kinesis, streamName)).find(
      (shard) => shard.ShardId === lease.shardId,
    );
    const owns = self?.HashKeyRange === undefined ? undefined : ownsPartitionKey(self.HashKeyRange);
    deps.processor.restore(parentSnapshots, owns === undefined ? undefined : { ownsDevice: owns });
    log.info('state restored from parents', {
      parents: lease.current.parentShardIds,
      devices: deps.processor.deviceCount,
    });
  }
}

function toStreamRecords(response: GetRecordsCommandOutput, shardId: string): StreamRecord[] {
  return (response.Records ?? []).map((record) => ({
    data: record.Data ?? new Uint8Array(),
    partitionKey: record.PartitionKey ?? '',
    sequenceNumber: record.SequenceNumber ?? '',
    arrivalMs: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
    shardId,
  }));
}
