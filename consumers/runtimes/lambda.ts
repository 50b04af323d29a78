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
 */
import type { StreamRecord } from '../contract/outputs.ts';
import type { S3SnapshotStore } from '../leases/snapshot-store.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { createRecordProcessor } from '../processor/record-processor.ts';
import type { BatchOutcome, RecordProcessorApi } from '../processor/types.ts';
import type { Sinks } from '../sinks/ports.ts';
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
}

const STATE_CHECKPOINT = 'lambda';

function shardIdOf(eventId: string): string {
  // eventID is `shardId-000000000000:49590338271490256608559692538361571095921575989136588898`.
  return eventId.split(':')[0] ?? 'unknown';
}

async function deliver(sinks: Sinks, outcome: BatchOutcome): Promise<void> {
  await Promise.all([
    sinks.results.deliver(outcome.results),
    sinks.archive.deliver(outcome.archive),
    sinks.dlq.send(outcome.rejections),
  ]);
}

export function createHandler(
  deps: LambdaDeps,
): (event: KinesisStreamEvent) => Promise<KinesisBatchResponse> {
  return async (event) => {
    const first = event.Records[0];
    if (first === undefined) return { batchItemFailures: [] };
    const shardId = shardIdOf(first.eventID);
    const log = deps.logger.child({ shardId });
    const records: StreamRecord[] = event.Records.map((entry) => ({
      data: Buffer.from(entry.kinesis.data, 'base64'),
      partitionKey: entry.kinesis.partitionKey,
      sequenceNumber: entry.kinesis.sequenceNumber,
      arrivalMs: Math.round(entry.kinesis.approximateArrivalTimestamp * 1000),
      shardId,
    }));

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
    const failedDevices = new Set<string>();
    const failures: { itemIdentifier: string }[] = [];
    for (const [deviceId, deviceRecords] of byDevice) {
      const outcome = processor.process(deviceRecords);
      deps.metrics.count('RecordsIn', outcome.counts.in);
      try {
        await deliver(deps.sinks, outcome);
      } catch (error) {
        failedDevices.add(deviceId);
        failures.push({ itemIdentifier: deviceRecords[0]?.sequenceNumber ?? '' });
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
      createProcessor: () => createRecordProcessor(),
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
