/**
 * Rebuilds results from the stream: TRIM_HORIZON or AT_TIMESTAMP, for the whole stream or chosen shards.
 *
 * A replay is its own consumer application, so it never fights the live one: its own lease table
 * (`<leaseTable>-replay-<runId>`), its own state snapshots (`state/<stream>/replay-<runId>/…`) and, by
 * default, its own delivery stream writing under `replay/<runId>/results/dt=…/hour=…/part=…/`, next to the live
 * `results/` so the two can be compared file by file. Same records, same processor, fresh state: the
 * outputs carry the same deterministic ids as the original run's.
 *
 * Rejections are counted by reason, not sent to the DLQ again (the live run already did), and accepted
 * events are not archived again (they are in `raw/` already).
 */
import { randomUUID } from 'node:crypto';
import type { AwsClients } from '../consumers/aws/clients.ts';
import { ConfigError } from '../consumers/contract/errors.ts';
import { S3_PREFIXES } from '../consumers/contract/layout.ts';
import { SHARD_END } from '../consumers/leases/lease.ts';
import { LeaseTable } from '../consumers/leases/lease-table.ts';
import { listAllShards } from '../consumers/leases/shard-sync.ts';
import { createS3SnapshotStore } from '../consumers/leases/snapshot-store.ts';
import type { Logger } from '../consumers/observability/logger.ts';
import type { Metrics } from '../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../consumers/processor/record-processor.ts';
import type { WorkerProps } from '../consumers/runtimes/worker.ts';
import { createFirehoseSink } from '../consumers/sinks/firehose-sink.ts';
import { DEFAULT_RESOURCE_NAMES, ensureDeliveryStream, type ResourceNames } from '../local/resources.ts';
import { startConsumerFleet, waitUntil } from './consumers.ts';
import type { PipelineCounters } from './observe.ts';
import type { PipelineProgress } from './progress.ts';
import { type ReadPosition, type StreamScan, scanStream } from './raw-read.ts';

export interface ReplayProps {
  /** @default TRIM_HORIZON */
  readonly from?: ReadPosition;
  /** Shards to replay. @default every shard of the stream */
  readonly shards?: readonly string[];
  /**
   * `replay`: a delivery stream of its own writing under `replay/<runId>/results/`. `results`: the live
   * results delivery stream (same ids, so readers that keep one line per id see no change).
   * @default 'replay'
   */
  readonly output?: 'replay' | 'results';
  /** @default DEFAULT_RESOURCE_NAMES */
  readonly names?: Partial<ResourceNames>;
  /** @default 2 */
  readonly workers?: number;
  readonly worker?: Omit<WorkerProps, 'streamName' | 'workerId' | 'initialPosition' | 'initialTimestampMs'>;
  /** Seconds the replay delivery stream buffers before writing to S3. @default 1 */
  readonly bufferIntervalSeconds?: number;
  /** Longest wait for the workers to process every counted record, ms. @default 600000 */
  readonly timeoutMs?: number;
  /** @default a fresh id */
  readonly runId?: string;
  /** Account in the Firehose role ARN. @default '000000000000' (the embedded stack's) */
  readonly account?: string;
  readonly onProgress?: (progress: PipelineProgress) => void;
  /** @default 1000 */
  readonly progressIntervalMs?: number;
  /** @default true; see InstrumentOptions.perRecordVerdicts */
  readonly perRecordVerdicts?: boolean;
}

export interface ReplayDeps {
  readonly clients: Pick<AwsClients, 'kinesis' | 'dynamodb' | 's3' | 'firehose'>;
  /** Delivers buffered Firehose records now (the embedded stack can); otherwise the run waits a buffer interval. */
  readonly flushFirehose?: () => Promise<unknown>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ReplayReport {
  readonly runId: string;
  readonly stream: string;
  readonly shards: readonly string[];
  readonly from: string;
  readonly leaseTable: string;
  readonly deliveryStream: string;
  readonly bucket: string;
  /** Where the rebuilt results are. */
  readonly prefix: string;
  /** Records in the chosen shards when the replay started (counted by a raw read). */
  readonly records: number;
  readonly processed: number;
  readonly duplicates: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly outputsByKind: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** The counting pass: raw GetRecords over the same records, nothing processed. */
  readonly rawRead: StreamScan;
  readonly complete: boolean;
  /** The counters, for benchmarks. */
  readonly counters: PipelineCounters;
}

export function newReplayId(): string {
  return `${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${randomUUID().slice(0, 6)}`;
}

export async function runReplay(props: ReplayProps, deps: ReplayDeps): Promise<ReplayReport> {
  const names: ResourceNames = { ...DEFAULT_RESOURCE_NAMES, ...props.names };
  const runId = props.runId ?? newReplayId();
  const from: ReadPosition = props.from ?? { type: 'TRIM_HORIZON' };
  const { clients } = deps;
  // Kinesis refuses AT_TIMESTAMP iterators in the future; say so before touching anything.
  if (from.type === 'AT_TIMESTAMP' && from.timestampMs > Date.now()) {
    throw new ConfigError(`replay from ${new Date(from.timestampMs).toISOString()}: that is in the future`);
  }

  const all = await listAllShards(clients.kinesis, names.stream);
  const allIds = all.map((shard) => shard.ShardId as string);
  const chosen = props.shards === undefined ? allIds : [...props.shards];
  const unknown = chosen.filter((id) => !allIds.includes(id));
  if (unknown.length > 0) {
    throw new ConfigError(
      `no such shard in ${names.stream}: ${unknown.join(', ')} (shards: ${allIds.join(', ')})`,
    );
  }

  // Counted before the workers start, so the replay has an end even on a stream that keeps growing.
  const rawRead = await scanStream(
    clients.kinesis,
    names.stream,
    chosen,
    from,
    props.worker?.maxRecords ?? 10_000,
  );

  const leaseTableName = `${names.leaseTable}-replay-${runId}`;
  const table = new LeaseTable(clients.dynamodb, leaseTableName);
  await table.ensureTable();
  // Shards left out are marked finished before any worker looks, so shard sync never creates them.
  for (const shard of all) {
    const id = shard.ShardId as string;
    if (chosen.includes(id)) continue;
    await table.createLeaseIfAbsent({ leaseKey: id, checkpoint: SHARD_END, parentShardIds: [] });
  }

  const deliveryStream =
    props.output === 'results'
      ? names.resultsDeliveryStream
      : `${names.resultsDeliveryStream}-replay-${runId}`;
  const prefix = props.output === 'results' ? 'results/' : `replay/${runId}/results/`;
  if (props.output !== 'results') {
    await ensureDeliveryStream(
      clients,
      deliveryStream,
      `arn:aws:s3:::${names.bucket}`,
      `arn:aws:iam::${props.account ?? '000000000000'}:role/fleetstream-firehose`,
      `replay/${runId}/${S3_PREFIXES.results}`,
      { IntervalInSeconds: props.bufferIntervalSeconds ?? 1, SizeInMBs: 64 },
    );
  }

  const started = performance.now();
  const fleet = await startConsumerFleet(
    {
      streamName: names.stream,
      leaseTableName,
      workers: props.workers ?? 2,
      shards: chosen.length,
      workerIdPrefix: `replay-${runId}`,
      perRecordVerdicts: props.perRecordVerdicts ?? true,
      worker: {
        maxRecords: 10_000,
        idleTimeBetweenReadsMs: 200,
        ...props.worker,
        initialPosition: from.type,
        ...(from.type === 'AT_TIMESTAMP' ? { initialTimestampMs: from.timestampMs } : {}),
      },
    },
    {
      clients,
      sinks: {
        results: createFirehoseSink({ client: clients.firehose, deliveryStreamName: deliveryStream }),
        archive: { deliver: async () => {} },
        // Counted by the instrumented DLQ port around this one; the live run already dead-lettered them.
        dlq: { send: async () => {} },
      },
      snapshots: createS3SnapshotStore({
        client: clients.s3,
        bucket: names.bucket,
        streamName: `${names.stream}/replay-${runId}`,
      }),
      createProcessor: () => createRecordProcessor(),
      logger: deps.logger,
      metrics: deps.metrics,
    },
  );
  const { counters } = fleet;
  const onProgress = props.onProgress;
  const progress = (): PipelineProgress => ({
    phase: 'replaying',
    elapsedMs: performance.now() - started,
    sent: rawRead.records,
    total: rawRead.records,
    recordsIn: counters.recordsIn,
    resultsOut: counters.resultsOut,
    iteratorLagMs: counters.iteratorLagMs,
    rejected: counters.dlqRejections.size,
    deadLettered: 0,
    duplicates: counters.duplicates,
    gaps: counters.resultsByKind.get('missing') ?? 0,
    anomalies: counters.resultsByKind.get('anomaly') ?? 0,
  });
  const timer =
    onProgress === undefined
      ? undefined
      : setInterval(() => onProgress(progress()), props.progressIntervalMs ?? 1000);
  let complete: boolean;
  let seconds: number;
  try {
    complete = await waitUntil(() => counters.recordsIn >= rawRead.records, props.timeoutMs ?? 600_000);
    seconds = (performance.now() - started) / 1000;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    await fleet.stop();
  }
  onProgress?.(progress());
  if (deps.flushFirehose !== undefined) await deps.flushFirehose();
  else await new Promise((resolve) => setTimeout(resolve, ((props.bufferIntervalSeconds ?? 1) + 1) * 1000));

  const outputsByKind: Record<string, number> = {};
  for (const [kind, count] of [...counters.resultsByKind].sort()) outputsByKind[kind] = count;
  const rejectedByReason: Record<string, number> = {};
  for (const [reason, count] of Object.entries(counters.rejectedByReason()).sort())
    rejectedByReason[reason] = count ?? 0;
  return {
    runId,
    stream: names.stream,
    shards: chosen,
    from: from.type === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : new Date(from.timestampMs).toISOString(),
    leaseTable: leaseTableName,
    deliveryStream,
    bucket: names.bucket,
    prefix,
    records: rawRead.records,
    processed: counters.recordsIn,
    duplicates: counters.duplicates,
    rejectedByReason,
    outputsByKind,
    seconds,
    recordsPerSecond: seconds > 0 ? counters.recordsIn / seconds : 0,
    rawRead,
    complete,
    counters,
  };
}
