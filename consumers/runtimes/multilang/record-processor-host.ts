/**
 * Runs the shared record processor behind the MultiLang protocol. The daemon owns leases and stores
 * checkpoints; this host owns the per-device state, which it saves to S3 at
 * `state/<stream>/<shardId>/<checkpoint>.bin` BEFORE asking the daemon to checkpoint there. On
 * initialize, the snapshot saved at the daemon's checkpoint is loaded, so a reassigned shard resumes warm.
 */
import type { StreamRecord } from '../../contract/outputs.ts';
import { isSequenceNumber, SHARD_END } from '../../leases/lease.ts';
import type { S3SnapshotStore } from '../../leases/snapshot-store.ts';
import { countBatch } from '../../observability/batch-metrics.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { mergeOutcomes } from '../../processor/outcome.ts';
import { rejectUnreadable } from '../../processor/record-processor.ts';
import { throughStage } from '../../processor/stage.ts';
import type { BatchOutcome, OutcomeStage, RecordProcessorApi } from '../../processor/types.ts';
import { deliverOutcome, type Sinks } from '../../sinks/ports.ts';
import { backoffDelayMs, sleep } from '../../sinks/retry.ts';
import { unreadable } from '../envelope.ts';
import type { DaemonAction, MultiLangChannel } from './channel.ts';
import type { MalformedRecord, MultiLangRecord } from './protocol.ts';

/** A stream position the daemon can checkpoint at. */
type Position = Pick<MultiLangRecord, 'sequenceNumber' | 'subSequenceNumber'>;

export interface ParentLookup {
  /** The shard's parents and its hash key range, for a child starting fresh after a reshard. */
  parentsOf(
    shardId: string,
  ): Promise<{ parents: string[]; owns: (partitionKey: string) => boolean } | undefined>;
}

export interface HostOptions {
  readonly channel: MultiLangChannel;
  readonly createProcessor: () => RecordProcessorApi;
  /** A fresh stage per shard, run on each batch before delivery (the model review). @default none */
  readonly createStage?: () => OutcomeStage;
  readonly sinks: Sinks;
  readonly snapshots: S3SnapshotStore;
  readonly parents?: ParentLookup;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Least time between checkpoints; shard end and shutdown always checkpoint. @default 1000 (ms) */
  readonly checkpointIntervalMs?: number;
  /** Backoff for a batch whose delivery failed (it is retried until delivered). */
  readonly backoff?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
}

export interface RecordProcessorHost {
  handle(action: DaemonAction): Promise<void>;
}

export function createRecordProcessorHost(options: HostOptions): RecordProcessorHost {
  const { channel, sinks, snapshots, metrics } = options;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 1000;
  const backoff = options.backoff ?? { baseDelayMs: 100, maxDelayMs: 5000 };
  let log = options.logger;
  let shardId = '';
  let processor = options.createProcessor();
  let stage = options.createStage?.();
  let lastProcessed: Position | undefined;
  let checkpointedAt = Date.now();
  let leaseLost = false;

  async function deliver(outcome: BatchOutcome): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await deliverOutcome(sinks, outcome);
        return;
      } catch (error) {
        // Acknowledging without delivering would let a later checkpoint skip these outputs.
        metrics.count('DeliveryRetries');
        log.warn('delivery failed, retrying the batch', { error, failures });
        await sleep(backoffDelayMs(failures, backoff));
      }
    }
  }

  /** Saves the state for `position`, then asks the daemon to checkpoint there. */
  async function checkpointAt(position: string, record: Position | undefined): Promise<boolean> {
    await snapshots.save(shardId, position, processor.snapshot());
    const error = await channel.checkpoint(
      position === SHARD_END ? null : position,
      record?.subSequenceNumber === undefined ? undefined : record.subSequenceNumber,
    );
    if (error !== undefined) {
      log.warn('daemon refused the checkpoint', { position, error });
      return false;
    }
    checkpointedAt = Date.now();
    metrics.count('Checkpoints');
    return true;
  }

  async function initialize(action: Extract<DaemonAction, { action: 'initialize' }>): Promise<void> {
    shardId = action.shardId;
    log = options.logger.child({ shardId });
    processor = options.createProcessor();
    stage = options.createStage?.();
    lastProcessed = undefined;
    leaseLost = false;
    const position = action.sequenceNumber ?? 'TRIM_HORIZON';
    if (isSequenceNumber(position)) {
      const own = await snapshots.loadAt(shardId, position);
      if (own === undefined) {
        metrics.count('ColdStarts');
        log.warn('no state snapshot at the checkpoint; starting cold', { position });
      } else {
        processor.restore([own]);
      }
    } else if (position !== SHARD_END && options.parents !== undefined) {
      const lineage = await options.parents.parentsOf(shardId);
      if (lineage !== undefined && lineage.parents.length > 0) {
        const parentStates: Uint8Array[] = [];
        for (const parent of lineage.parents) {
          const state = await snapshots.loadAt(parent, SHARD_END);
          if (state !== undefined) parentStates.push(state);
        }
        if (parentStates.length > 0) processor.restore(parentStates, { ownsDevice: lineage.owns });
      }
    }
    log.info('initialized', { position, devices: processor.deviceCount });
  }

  async function processRecords(
    records: readonly MultiLangRecord[],
    malformed: readonly MalformedRecord[],
    /** The batch's last position, whether or not that record could be read. */
    last: Position | undefined,
  ): Promise<void> {
    if (records.length === 0 && malformed.length === 0) return;
    const streamRecords: StreamRecord[] = records.map((record) => ({
      data: record.bytes,
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      arrivalMs: record.approximateArrivalTimestamp,
      shardId,
    }));
    const processed = processor.process(streamRecords);
    let outcome = await throughStage(stage, processed, { metrics, log });
    if (malformed.length > 0) {
      // Broken records never reach the processor; they are rejected here, with their field named.
      const rejected = rejectUnreadable(
        malformed.map((record) =>
          unreadable(
            `${shardId}:${record.sequenceNumber ?? `batch-record-${record.index}`}`,
            '',
            record.problem,
            record.data,
            record.approximateArrivalTimestamp,
          ),
        ),
      );
      log.warn('records with broken fields go to the DLQ', {
        count: malformed.length,
        first: malformed[0]?.problem,
      });
      outcome = mergeOutcomes([outcome, rejected]);
    }
    countBatch(metrics, outcome);
    await deliver(outcome);
    if (last !== undefined) lastProcessed = last;
    if (Date.now() - checkpointedAt >= checkpointIntervalMs && lastProcessed !== undefined) {
      await checkpointAt(lastProcessed.sequenceNumber, lastProcessed);
    }
  }

  return {
    async handle(action) {
      switch (action.action) {
        case 'initialize':
          await initialize(action);
          break;
        case 'processRecords':
          if (!leaseLost) await processRecords(action.records, action.malformed, action.last);
          break;
        case 'leaseLost':
          // Another worker owns the shard now: checkpointing is forbidden, state is discarded.
          leaseLost = true;
          processor = options.createProcessor();
          log.info('lease lost');
          break;
        case 'shardEnded':
          // KCL requires a checkpoint at shard end before the children may start.
          await deliver(processor.flush());
          await checkpointAt(SHARD_END, undefined);
          log.info('shard ended');
          break;
        case 'shutdownRequested':
          if (!leaseLost && lastProcessed !== undefined)
            await checkpointAt(lastProcessed.sequenceNumber, lastProcessed);
          break;
        case 'shutdown':
          if (action.reason === 'TERMINATE') {
            await deliver(processor.flush());
            await checkpointAt(SHARD_END, undefined);
          } else {
            leaseLost = true;
          }
          break;
      }
      metrics.flush();
      await channel.send({ action: 'status', responseFor: action.action });
    },
  };
}
