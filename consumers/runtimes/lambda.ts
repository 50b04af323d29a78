/**
 * Lambda handler for a Kinesis event source mapping, sharing the record processor and the sinks.
 *
 * Ordering: the mapping must use ParallelizationFactor 1 (one invocation per shard at a time) and
 * FunctionResponseTypes [ReportBatchItemFailures]. Records are processed device by device in stream
 * order; when a device's outputs cannot be delivered, its first record of the batch is reported, and
 * Lambda restarts the shard from the lowest reported sequence number, so nothing of that device is
 * skipped (other devices' records after it come again as duplicates with the same output ids).
 *
 * State: per-device state is carried between invocations as a snapshot per shard in S3
 * (`state/<stream>/<shardId>/lambda.bin`), loaded at the start of an invocation and saved after it.
 * After a partial failure the saved state must not contain the failed devices' records (their retry
 * would be taken for duplicates and dropped), so the state is rebuilt from the previous snapshot plus
 * only the delivered devices' records. Cost: one GetObject and one PutObject per invocation.
 *
 * Model review: when a model endpoint is configured, the invocation's batch goes through the served model's
 * review (models/review) before delivery, as on the other runtimes: one batched InvokeEndpoint for all its
 * devices, the results handed back to each device for delivery. A review per shard lives as long as the
 * container stays warm, so devices' shingles carry over between invocations; after a cold start their
 * first shingle-size − 1 readings are decided in-stream, as after a lease move. A device whose delivery
 * failed sends its readings through the review again on the retry, so its shingle holds them twice for a
 * few readings: the model's features are approximate there, the decisions still made.
 */
import { createHash } from 'node:crypto';
import { decodeStrictBase64 } from '../contract/base64.ts';
import type { CorrectionRequest, StreamRecord } from '../contract/outputs.ts';
import type { S3SnapshotStore } from '../leases/snapshot-store.ts';
import { countBatch } from '../observability/batch-metrics.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { mergeOutcomes } from '../processor/outcome.ts';
import {
  createRecordProcessor,
  rejectUnreadable,
  type UnreadableRecord,
} from '../processor/record-processor.ts';
import { throughStage } from '../processor/stage.ts';
import type { BatchOutcome, EncodedOutput, OutcomeStage, RecordProcessorApi } from '../processor/types.ts';
import { deliverOutcome, type Sinks } from '../sinks/ports.ts';
import { describe, isObject, unreadable } from './envelope.ts';
import { clientsFor, createRuntimeParts, runtimeConfigFromEnv } from './runtime.ts';

/** The parts of the Kinesis event Lambda sends that the handler reads. */
export interface KinesisStreamEvent {
  readonly Records: ReadonlyArray<{
    readonly eventID: string;
    readonly eventSourceARN?: string;
    readonly kinesis: {
      readonly data: string;
      readonly partitionKey: string;
      readonly sequenceNumber: string;
      /** Seconds, with fractions. */
      readonly approximateArrivalTimestamp: number;
    };
  }>;
}

export interface KinesisBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface LambdaDeps {
  readonly sinks: Sinks;
  readonly snapshots: S3SnapshotStore;
  readonly createProcessor: () => RecordProcessorApi;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The served model's review of each batch, one per shard (models/review); processors must then keep
   * their scored readings. @default none: the in-stream detector decides alone
   */
  readonly createStage?: () => OutcomeStage;
}

const STATE_CHECKPOINT = 'lambda';

/**
 * Runs the stage over all devices' outcomes as one batch, then hands each device back its own results
 * and corrections (outputs name their device), so that a device's delivery still stands or falls alone.
 */
async function reviewed(
  stage: OutcomeStage | undefined,
  byDevice: ReadonlyMap<string, BatchOutcome>,
  deps: { readonly metrics: Metrics; readonly log: Logger },
): Promise<ReadonlyMap<string, BatchOutcome>> {
  if (stage === undefined || byDevice.size === 0) return byDevice;
  const whole = mergeOutcomes([...byDevice.values()]);
  const after = await throughStage(stage, whole, deps);
  if (after === whole) return byDevice;
  // Devices are grouped by partition key; an output names its device by the payload's id, which the
  // processor's own outputs map to their group. The review only adds outputs about readings it was
  // given, so every device it names is there (the first group is a backstop that loses nothing).
  const groupOf = new Map<string, string>();
  for (const [key, outcome] of byDevice)
    for (const output of outcome.results) groupOf.set(output.deviceId, key);
  const firstKey = byDevice.keys().next().value as string;
  const results = new Map<string, EncodedOutput[]>();
  const corrections = new Map<string, CorrectionRequest[]>();
  const add = <T>(into: Map<string, T[]>, deviceId: string, item: T): void => {
    const key = groupOf.get(deviceId) ?? (byDevice.has(deviceId) ? deviceId : firstKey);
    const list = into.get(key);
    if (list === undefined) into.set(key, [item]);
    else list.push(item);
  };
  for (const output of after.results) add(results, output.deviceId, output);
  for (const request of after.corrections) add(corrections, request.deviceId, request);
  return new Map(
    [...byDevice].map(([key, outcome]) => [
      key,
      { ...outcome, results: results.get(key) ?? [], corrections: corrections.get(key) ?? [] },
    ]),
  );
}

/** A Kinesis eventID: `shardId-000000000000:<sequence number>`. */
const EVENT_ID = /^(shardId-[0-9]{1,32}):/;
const SEQUENCE_NUMBER = /^[0-9]{1,128}$/;

/** One shard's part of an event: the records to process, and the ones whose envelope is broken. */
interface ShardPart {
  readonly records: StreamRecord[];
  readonly unreadable: UnreadableRecord[];
  /** The unreadable records' sequence numbers where they have one, in event order (for failure reports). */
  readonly unreadableSequenceNumbers: string[];
}

/**
 * Splits an event by shard and checks every record's envelope. Lambda sends one shard per invocation,
 * but nothing here depends on it: each shard's records go through its own state. A record whose
 * eventID names no shard cannot be given state, so it is rejected like any other broken envelope (its
 * part is keyed `undefined`).
 */
function readEvent(event: unknown): Map<string | undefined, ShardPart> | undefined {
  const entries = isObject(event) ? event.Records : undefined;
  if (!Array.isArray(entries)) return undefined;
  const parts = new Map<string | undefined, ShardPart>();
  entries.forEach((entry: unknown, index) => {
    const eventId = isObject(entry) ? entry.eventID : undefined;
    const shardId = typeof eventId === 'string' ? EVENT_ID.exec(eventId)?.[1] : undefined;
    let part = parts.get(shardId);
    if (part === undefined) {
      part = { records: [], unreadable: [], unreadableSequenceNumbers: [] };
      parts.set(shardId, part);
    }
    const kinesis = isObject(entry) ? entry.kinesis : undefined;
    const k = isObject(kinesis) ? kinesis : {};
    const { data, partitionKey, sequenceNumber, approximateArrivalTimestamp: arrival } = k;
    const sequence =
      typeof sequenceNumber === 'string' && SEQUENCE_NUMBER.test(sequenceNumber) ? sequenceNumber : undefined;
    const arrivalMs =
      typeof arrival === 'number' && Number.isFinite(arrival) && arrival >= 0
        ? Math.round(arrival * 1000)
        : undefined;
    const bytes = typeof data === 'string' ? decodeStrictBase64(data) : undefined;
    let fault: [field: string, problem: string] | undefined;
    if (!isObject(entry)) fault = [`Records[${index}]`, `is ${describe(entry)}`];
    else if (shardId === undefined) fault = ['eventID', `does not name a shard (${describe(eventId)})`];
    else if (!isObject(kinesis)) fault = ['kinesis', `is ${describe(kinesis)}`];
    else if (typeof data !== 'string') fault = ['kinesis.data', `is ${describe(data)}`];
    else if (bytes === undefined) fault = ['kinesis.data', 'is not base64'];
    else if (sequence === undefined) fault = ['kinesis.sequenceNumber', `is ${describe(sequenceNumber)}`];
    else if (typeof partitionKey !== 'string' || partitionKey === '')
      fault = ['kinesis.partitionKey', `is ${describe(partitionKey)}`];
    else if (arrivalMs === undefined)
      fault = ['kinesis.approximateArrivalTimestamp', `is ${describe(arrival)}`];
    if (fault === undefined && bytes !== undefined && sequence !== undefined && arrivalMs !== undefined) {
      part.records.push({
        data: bytes,
        partitionKey: partitionKey as string,
        sequenceNumber: sequence,
        arrivalMs,
        shardId,
      });
      return;
    }
    const [field, problem] = fault ?? ['kinesis', 'is unreadable'];
    const position =
      sequence ??
      `data-${createHash('sha256')
        .update(typeof data === 'string' ? data : '')
        .update(String(index))
        .digest('hex')
        .slice(0, 16)}`;
    part.unreadable.push(
      unreadable(`${shardId ?? 'unknown-shard'}:${position}`, field, problem, data, arrivalMs),
    );
    if (sequence !== undefined) part.unreadableSequenceNumbers.push(sequence);
  });
  return parts;
}

export function createHandler(
  deps: LambdaDeps,
): (event: KinesisStreamEvent) => Promise<KinesisBatchResponse> {
  const stages = new Map<string, OutcomeStage>();
  const stageFor = (shardId: string): OutcomeStage | undefined => {
    if (deps.createStage === undefined) return undefined;
    let stage = stages.get(shardId);
    if (stage === undefined) {
      stage = deps.createStage();
      stages.set(shardId, stage);
    }
    return stage;
  };

  /** One shard's records: its state in, device by device through the processor, its state out. */
  async function handleShard(
    shardId: string | undefined,
    part: ShardPart,
    failures: { itemIdentifier: string }[],
  ): Promise<void> {
    const log = deps.logger.child({ shardId: shardId ?? 'unknown' });
    const { records } = part;
    if (part.unreadable.length > 0) {
      // Delivered and reported on their own: they never touch the shard's state.
      const rejected = rejectUnreadable(part.unreadable);
      countBatch(deps.metrics, rejected);
      log.warn('records with a broken envelope go to the DLQ', {
        count: part.unreadable.length,
        first: part.unreadable[0]?.message,
      });
      try {
        await deliverOutcome(deps.sinks, rejected);
      } catch (error) {
        // Without a sequence number to restart from, '' makes Lambda retry the whole batch.
        failures.push({ itemIdentifier: part.unreadableSequenceNumbers[0] ?? '' });
        log.warn('rejections of broken envelopes not delivered', { error });
      }
    }
    if (shardId === undefined || records.length === 0) return;

    const previous = await deps.snapshots.loadAt(shardId, STATE_CHECKPOINT);
    const fresh = (): RecordProcessorApi => {
      const processor = deps.createProcessor();
      if (previous !== undefined) processor.restore([previous]);
      return processor;
    };

    // Device by device, in stream order; a device's records are never processed in parallel.
    const byDevice = new Map<string, StreamRecord[]>();
    for (const record of records) {
      const list = byDevice.get(record.partitionKey);
      if (list === undefined) byDevice.set(record.partitionKey, [record]);
      else list.push(record);
    }
    const processor = fresh();
    const processed = new Map<string, BatchOutcome>();
    for (const [deviceId, deviceRecords] of byDevice) {
      const outcome = processor.process(deviceRecords);
      countBatch(deps.metrics, outcome);
      processed.set(deviceId, outcome);
    }
    const outcomes = await reviewed(stageFor(shardId), processed, { metrics: deps.metrics, log });
    const failedDevices = new Set<string>();
    for (const [deviceId, outcome] of outcomes) {
      try {
        await deliverOutcome(deps.sinks, outcome);
      } catch (error) {
        failedDevices.add(deviceId);
        failures.push({ itemIdentifier: byDevice.get(deviceId)?.[0]?.sequenceNumber ?? '' });
        log.warn('device outputs not delivered; reporting from its first record', { deviceId, error });
      }
    }

    let state: RecordProcessorApi = processor;
    if (failedDevices.size > 0) {
      // Rebuild without the failed devices: their records come again and must count as new.
      state = fresh();
      state.process(records.filter((record) => !failedDevices.has(record.partitionKey)));
      deps.metrics.count('DevicesFailed', failedDevices.size);
    }
    await deps.snapshots.save(shardId, STATE_CHECKPOINT, state.snapshot());
  }

  return async (event) => {
    const parts = readEvent(event);
    if (parts === undefined) {
      // Nothing in it can be accounted for: not a Kinesis event (a test event, a wrong trigger).
      deps.metrics.count('MalformedEvents');
      deps.logger.error('not a Kinesis event: no Records array; nothing to process', {
        keys: isObject(event) ? Object.keys(event).slice(0, 10) : describe(event),
      });
      deps.metrics.flush();
      return { batchItemFailures: [] };
    }
    const failures: { itemIdentifier: string }[] = [];
    for (const [shardId, part] of parts) await handleShard(shardId, part, failures);
    deps.metrics.flush();
    return { batchItemFailures: failures };
  };
}

let initialised: Promise<(event: KinesisStreamEvent) => Promise<KinesisBatchResponse>> | undefined;

/** The entry the CDK app bundles. Clients and sinks are created once per container, on first use. */
export async function handler(event: KinesisStreamEvent): Promise<KinesisBatchResponse> {
  initialised ??= (async () => {
    const config = runtimeConfigFromEnv();
    const clients = clientsFor(config);
    const parts = await createRuntimeParts(config, clients, { inlineSnapshotMaxBytes: -1 });
    return createHandler({
      sinks: parts.sinks,
      snapshots: parts.snapshots,
      createProcessor: () => createRecordProcessor({ keepScoredReadings: parts.createStage !== undefined }),
      ...(parts.createStage === undefined ? {} : { createStage: parts.createStage }),
      logger: createLogger({ service: 'fleetstream-lambda' }),
      // Lambda ships stdout to CloudWatch Logs, where EMF lines become metrics.
      metrics: createMetrics({
        dimensions: { Runtime: 'lambda' },
        write: (line) => process.stdout.write(line),
      }),
    });
  })();
  return (await initialised)(event);
}
