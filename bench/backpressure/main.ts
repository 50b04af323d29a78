/**
 * bench/backpressure — the shard worker's memory bound under a slow sink, and lease takeover time.
 *
 * 1. Heap: one shard with RECORDS records; the sinks are the real Firehose/SQS sinks behind an extra
 *    SINK_DELAY_MS per call (a destination slower than kinesalite's reads, so reads could run ahead).
 *    Run twice in this process over the same shard: with the default bound (maxInFlightBatches = 2)
 *    and unbounded (reads never wait for the sinks). Peak heap
 *    above the pre-run baseline is sampled after a full GC every 250 ms.
 *    Stated bound: heap above the processor's state ≤ (maxInFlightBatches + 1) × one batch, where one
 *    batch is maxRecords records plus their encoded outputs (GetRecords itself caps a response at 10 MiB).
 * 2. Takeover: a worker process holding every lease is SIGKILLed; the time until an in-process worker
 *    holds them all is measured TAKEOVER_TRIALS times (target ≤ 2 × lease duration).
 *
 * Prints JSON lines; the last is the summary. `npm run bench:backpressure` (needs --expose-gc).
 * Options (env): RECORDS (4000), DEVICES (200), MAX_RECORDS (500), SINK_DELAY_MS (4000),
 * LEASE_DURATION_MS (2000), TAKEOVER_TRIALS (2).
 */

import { spawn } from 'node:child_process';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { LeaseTable } from '../../consumers/leases/lease-table.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { RecordProcessorApi } from '../../consumers/processor/types.ts';
import { HeldLease } from '../../consumers/runtimes/held-lease.ts';
import { createRuntimeParts } from '../../consumers/runtimes/runtime.ts';
import { runShardWorker } from '../../consumers/runtimes/shard-worker.ts';
import { startWorker } from '../../consumers/runtimes/worker.ts';
import type { Sinks } from '../../consumers/sinks/ports.ts';
import { sleep } from '../../consumers/sinks/retry.ts';
import { type EnsuredResources, ensureResources } from '../../local/resources.ts';
import { localRuntimeConfig, localWorkerEnv } from '../../local/runtime-config.ts';
import { type LocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { putRecords, telemetry } from '../../test/runtime/helpers.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const RECORDS = env('RECORDS', 4000);
const DEVICES = env('DEVICES', 200);
const MAX_RECORDS = env('MAX_RECORDS', 500);
const SINK_DELAY_MS = env('SINK_DELAY_MS', 4000);
const LEASE_DURATION_MS = env('LEASE_DURATION_MS', 2000);
const TAKEOVER_TRIALS = env('TAKEOVER_TRIALS', 2);
const MiB = 1024 * 1024;

const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'backpressure', ...line })}\n`);
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const quietMetrics = createMetrics({ write: () => {} });

/** Batches processed but not yet delivered: what back-pressure bounds. */
const flight = { processed: 0, delivered: 0, max: 0 };

function slow(sinks: Sinks): Sinks {
  return {
    results: {
      async deliver(outputs) {
        await sleep(SINK_DELAY_MS);
        await sinks.results.deliver(outputs);
        flight.delivered++;
      },
    },
    archive: {
      async deliver(outputs) {
        await sleep(SINK_DELAY_MS);
        await sinks.archive.deliver(outputs);
      },
    },
    dlq: {
      async send(rejections) {
        await sleep(SINK_DELAY_MS);
        await sinks.dlq.send(rejections);
      },
    },
  };
}

function counting(processor: RecordProcessorApi): RecordProcessorApi {
  return {
    process(records) {
      flight.processed++;
      flight.max = Math.max(flight.max, flight.processed - flight.delivered);
      return processor.process(records);
    },
    flush: () => processor.flush(),
    snapshot: () => processor.snapshot(),
    restore: (snapshots, options) => processor.restore(snapshots, options),
    get deviceCount() {
      return processor.deviceCount;
    },
  };
}

async function heapRun(
  clients: AwsClients,
  stack: LocalStack,
  resources: EnsuredResources,
  tableName: string,
  maxInFlightBatches: number,
  last: string,
): Promise<{ peakMiB: number; seconds: number; maxBatchesInFlight: number }> {
  const table = new LeaseTable(clients.dynamodb, tableName);
  await table.ensureTable();
  const shardId = 'shardId-000000000000';
  await table.createLeaseIfAbsent({ leaseKey: shardId, checkpoint: 'TRIM_HORIZON', parentShardIds: [] });
  const lease = new HeldLease(table, (await table.takeLease((await table.getLease(shardId))!, 'bench'))!);
  const parts = await createRuntimeParts(localRuntimeConfig(stack, resources), clients);
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  // Retained heap (after a full GC) is what a bound is about; garbage between collections is not.
  const sampler = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 250);
  const stop = new AbortController();
  const started = performance.now();
  Object.assign(flight, { processed: 0, delivered: 0, max: 0 });
  const processor = counting(createRecordProcessor());
  const run = runShardWorker(
    lease,
    {
      streamName: resources.names.stream,
      maxRecords: MAX_RECORDS,
      idleTimeBetweenReadsMs: 20,
      maxInFlightBatches,
      checkpointIntervalMs: 0,
      backoff: { baseDelayMs: 20, maxDelayMs: 500 },
    },
    {
      kinesis: clients.kinesis,
      table,
      snapshots: parts.snapshots,
      sinks: slow(parts.sinks),
      processor,
      logger: silentLogger,
      metrics: quietMetrics,
    },
    stop.signal,
  );
  // Done when the checkpoint reaches the last record.
  while ((await table.getLease(shardId))?.checkpoint !== last) await sleep(50);
  const seconds = (performance.now() - started) / 1000;
  stop.abort();
  await run;
  clearInterval(sampler);
  return { peakMiB: (peak - baseline) / MiB, seconds, maxBatchesInFlight: flight.max };
}

async function takeoverTrial(
  stack: LocalStack,
  clients: AwsClients,
  resources: EnsuredResources,
  trial: number,
): Promise<number> {
  const table = new LeaseTable(clients.dynamodb, `${resources.names.leaseTable}-takeover-${trial}`);
  await table.ensureTable();
  const child = spawn(process.execPath, ['--import', 'tsx', 'consumers/runtimes/worker-main.ts'], {
    env: {
      ...process.env,
      ...localWorkerEnv(stack, resources),
      FLEETSTREAM_LEASE_TABLE: table.tableName,
      FLEETSTREAM_WORKER_ID: 'doomed',
      FLEETSTREAM_LEASE_DURATION_MS: String(LEASE_DURATION_MS),
      FLEETSTREAM_IDLE_BETWEEN_READS_MS: '200',
    },
    stdio: 'ignore',
  });
  try {
    while (!(await table.listLeases()).some((l) => l.leaseOwner === 'doomed')) await sleep(50);
    const parts = await createRuntimeParts(localRuntimeConfig(stack, resources), clients);
    const survivor = startWorker(
      {
        streamName: resources.names.stream,
        workerId: 'survivor',
        leaseDurationMs: LEASE_DURATION_MS,
        idleTimeBetweenReadsMs: 200,
      },
      {
        kinesis: clients.kinesis,
        table,
        snapshots: parts.snapshots,
        sinks: parts.sinks,
        createProcessor: () => createRecordProcessor(),
        logger: silentLogger,
        metrics: quietMetrics,
      },
    );
    // Let the survivor watch the live lease for a while, as it would in production.
    await sleep(LEASE_DURATION_MS);
    child.kill('SIGKILL');
    const killedAt = performance.now();
    while (!(await table.listLeases()).every((l) => l.leaseOwner === 'survivor')) await sleep(20);
    const takeoverMs = performance.now() - killedAt;
    await survivor.stop();
    return takeoverMs;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ firehoseTickMs: 200 });
  const clients = createAwsClients(localClientsConfig(stack));
  try {
    const resources = await ensureResources(
      clients,
      {
        stream: 'bench-bp',
        leaseTable: 'bench-bp-leases',
        bucket: 'bench-bp',
        bus: 'bench-bp',
        rule: 'bench-bp',
        resultsDeliveryStream: 'bench-bp-results',
        rawDeliveryStream: 'bench-bp-raw',
        dlq: 'bench-bp-dlq',
        ruleDlq: 'bench-bp-rule-dlq',
        correctionTable: 'bench-bp-corrections',
      },
      { shardCount: 1, bufferIntervalSeconds: 1 },
    );
    const perDevice = Math.ceil(RECORDS / DEVICES);
    const last = await putRecords(
      clients,
      resources.names.stream,
      telemetry(DEVICES, 0, perDevice, Date.now() - perDevice * 1000 - 60_000),
    );
    const lastSequence = [...last.values()][0] ?? '';
    const records = perDevice * DEVICES;
    emit({ phase: 'setup', records, devices: DEVICES });

    const bounded = await heapRun(clients, stack, resources, 'bench-bp-bounded', 2, lastSequence);
    emit({ phase: 'heap', mode: 'bounded', maxInFlightBatches: 2, ...bounded });
    const unbounded = await heapRun(clients, stack, resources, 'bench-bp-unbounded', 1_000_000, lastSequence);
    emit({ phase: 'heap', mode: 'unbounded', ...unbounded });

    const takeovers: number[] = [];
    for (let trial = 0; trial < TAKEOVER_TRIALS; trial++) {
      const ms = await takeoverTrial(stack, clients, resources, trial);
      takeovers.push(ms);
      emit({ phase: 'takeover', trial, takeoverMs: Math.round(ms), leaseDurationMs: LEASE_DURATION_MS });
    }
    const worstTakeover = Math.max(...takeovers);
    emit({
      summary: true,
      records,
      max_records_per_batch: MAX_RECORDS,
      sink_delay_ms: SINK_DELAY_MS,
      peak_heap_mib_bounded: Number(bounded.peakMiB.toFixed(1)),
      peak_heap_mib_unbounded: Number(unbounded.peakMiB.toFixed(1)),
      heap_ratio_bounded_to_unbounded: Number((bounded.peakMiB / unbounded.peakMiB).toFixed(3)),
      max_batches_in_flight_bounded: bounded.maxBatchesInFlight,
      max_batches_in_flight_unbounded: unbounded.maxBatchesInFlight,
      takeover_ms_worst: Math.round(worstTakeover),
      lease_duration_ms: LEASE_DURATION_MS,
      takeover_to_lease_duration: Number((worstTakeover / LEASE_DURATION_MS).toFixed(2)),
      takeover_target_met: worstTakeover <= 2 * LEASE_DURATION_MS,
    });
  } finally {
    clients.destroy();
    await stack.stop();
  }
}

await main();
