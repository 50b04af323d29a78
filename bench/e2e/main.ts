/**
 * bench:e2e — records per second through the whole local consumer pipeline (GetRecords → decode,
 * validate, calculate, detect → Firehose and SQS over HTTP → checkpoint in DynamoDB), against the raw
 * kinesalite GetRecords rate over the same records in the same run (the ceiling), with 4 shards; then
 * event lag (arrival in the stream → results acknowledged by Firehose) at 50% and 90% of the rate the
 * pipeline sustained, with the part of it spent before a record was read (`until_read`: the wait between
 * polls and the GetRecords call) and the GetRecords calls' own latency (`get_records_ms`), which say whether
 * lag comes from the consumers or from the stream they read.
 *
 * The stream is pre-loaded straight through PutRecords (the simulator's `route: 'kinesis'`): the local
 * EventBridge hop is far slower than the consumers and would be what this measured otherwise.
 * The embedded stack runs in two child processes (Kinesis alone, the other services together) beside the
 * consumers, as AWS runs beside a real consumer; each phase also reports CPU µs per record in each process,
 * which explains the ratio independently of the shared machine's load. Compare ratios, not absolute rates.
 *
 * A third catch-up, the floor, runs the same runtime over the same records with a processor that only decodes
 * each record and forwards it as one line (forwarding-processor.ts): no validation, calculation, detection or
 * raw archive. Its ratio is what the runtime (leases, GetRecords, Firehose, checkpoints) allows; the gap down
 * to the pipeline's ratio is the processor's own work and its second output stream.
 *
 * Both read with the same GetRecords Limit (`max_records`): by default the embedded worker's own default of
 * 1,000. With 10,000 a shard of this size arrives in one or two pages, processed as one long synchronous
 * batch each, and the three processes hardly overlap (ratio 0.34–0.46 against 0.42–0.67 with 1,000 in one
 * session's runs; the ceiling hardly changes).
 *
 * Env: BENCH_RECORDS (default 24000), BENCH_SHARDS (4), BENCH_WORKERS (2), BENCH_PACED_SECONDS (8),
 * BENCH_MAX_RECORDS (1000).
 */

import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { listAllShards } from '../../consumers/leases/shard-sync.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { RecordProcessorApi } from '../../consumers/processor/types.ts';
import { createRuntimeParts } from '../../consumers/runtimes/runtime.ts';
import { type LocalStackProcesses, startLocalStackProcess } from '../../local/process/stack-process.ts';
import { ensureResources } from '../../local/resources.ts';
import { localRuntimeConfig } from '../../local/runtime-config.ts';
import { LOCAL_ACCOUNT_ID, type LocalStack, localClientsConfig } from '../../local/stack.ts';
import { startConsumerFleet, waitUntil } from '../../pipeline/consumers.ts';
import { LagRecorder } from '../../pipeline/lag.ts';
import { scanStream } from '../../pipeline/raw-read.ts';
import { parseSimulationConfig } from '../../sim/config.ts';
import { runSimulation } from '../../sim/simulate.ts';
import { eventBridgePort, kinesisPort } from '../../sim/transport.ts';
import { createForwardingProcessor } from './forwarding-processor.ts';

const records = Number(process.env.BENCH_RECORDS ?? 24_000);
const shards = Number(process.env.BENCH_SHARDS ?? 4);
const workers = Number(process.env.BENCH_WORKERS ?? 2);
const pacedSeconds = Number(process.env.BENCH_PACED_SECONDS ?? 8);
const DEVICES = 200;
const MAX_RECORDS = Number(process.env.BENCH_MAX_RECORDS ?? 1000);

const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'e2e', ...line })}\n`);
};

/** One phase's own resources, so the phases never read each other's records. */
async function phaseResources(clients: AwsClients, tag: string) {
  return ensureResources(
    clients,
    {
      bus: `bench-bus-${tag}`,
      rule: `bench-rule-${tag}`,
      stream: `bench-${tag}`,
      leaseTable: `bench-leases-${tag}`,
      resultsDeliveryStream: `bench-results-${tag}`,
      rawDeliveryStream: `bench-raw-${tag}`,
      dlq: `bench-dlq-${tag}`,
      ruleDlq: `bench-rule-dlq-${tag}`,
    },
    { shardCount: shards, bufferIntervalSeconds: 900 },
  );
}

/** Writes `total` simulator records straight to the stream, paced at `rate` per second (Infinity: flat out). */
async function load(clients: AwsClients, stream: string, total: number, rate: number, seed: number) {
  const readingsPerDevice = Math.max(1, Math.round(total / DEVICES));
  const config = parseSimulationConfig({
    devices: DEVICES,
    readingsPerDevice,
    rate,
    ...(rate === Infinity ? {} : { durationSeconds: (readingsPerDevice * DEVICES) / rate }),
    faults: 'none',
    route: 'kinesis',
    seed,
    envelope: { account: LOCAL_ACCOUNT_ID },
    sender: { lanes: 8 },
  });
  return runSimulation(config, {
    bus: eventBridgePort(clients.eventbridge, 'unused'),
    stream: kinesisPort(clients.kinesis, stream),
  });
}

async function startFleet(
  stack: LocalStack,
  clients: AwsClients,
  resources: Awaited<ReturnType<typeof phaseResources>>,
  createProcessor: () => RecordProcessorApi = createRecordProcessor,
) {
  const { names } = resources;
  const parts = await createRuntimeParts(localRuntimeConfig(stack, resources), clients);
  return startConsumerFleet(
    {
      streamName: names.stream,
      leaseTableName: names.leaseTable,
      workers,
      shards,
      perRecordVerdicts: false,
      worker: { maxRecords: MAX_RECORDS, idleTimeBetweenReadsMs: 200 },
    },
    {
      clients,
      sinks: parts.sinks,
      snapshots: parts.snapshots,
      createProcessor,
      logger: silentLogger,
      metrics: createMetrics({ write: () => {} }),
    },
  );
}

/** CPU time used so far by this process (consumers, reader) and by each stack process, µs. */
async function cpuNow(stack: LocalStackProcesses) {
  const own = process.cpuUsage();
  return { consumer: own.user + own.system, ...(await stack.cpuMicros()) };
}

type CpuSample = Awaited<ReturnType<typeof cpuNow>>;

/**
 * CPU µs per record in each process over a phase. The machine's cores are shared, so a rate moves with
 * the neighbours' load; CPU per record shows where the work is whatever the load.
 */
function cpuPerRecord(before: CpuSample, after: CpuSample, records: number) {
  const per = (key: keyof CpuSample) =>
    Math.round(((after[key] - before[key]) / Math.max(1, records)) * 10) / 10;
  const consumer = per('consumer');
  const kinesis = per('kinesis');
  const services = per('stack');
  return {
    consumer_process: consumer,
    kinesis_process: kinesis,
    other_services_process: services,
    total: Math.round((consumer + kinesis + services) * 10) / 10,
  };
}

async function main(): Promise<void> {
  const stack = await startLocalStackProcess();
  const clients = createAwsClients(localClientsConfig(stack));
  const getRecordsMs = timeGetRecords(clients);
  try {
    // 1. Catch-up: the stream holds every record before the consumers start.
    const catchUp = await phaseResources(clients, 'catchup');
    const loaded = await load(clients, catchUp.names.stream, records, Infinity, 1);
    const total = loaded.expected.sent;
    emit({
      phase: 'load',
      records: total,
      seconds: loaded.wallSeconds,
      records_per_s: loaded.eventsPerSecond,
    });

    const shardIds = (await listAllShards(clients.kinesis, catchUp.names.stream)).map(
      (s) => s.ShardId as string,
    );
    const cpuBeforeCeiling = await cpuNow(stack);
    const ceiling = await scanStream(
      clients.kinesis,
      catchUp.names.stream,
      shardIds,
      { type: 'TRIM_HORIZON' },
      MAX_RECORDS,
    );
    const ceilingCpu = cpuPerRecord(cpuBeforeCeiling, await cpuNow(stack), ceiling.records);
    emit({
      phase: 'ceiling',
      records: ceiling.records,
      seconds: ceiling.seconds,
      records_per_s: ceiling.recordsPerSecond,
      mib: ceiling.bytes / 2 ** 20,
      cpu_us_per_record: ceilingCpu,
    });

    const pipeline = await drain(stack, clients, catchUp, total, createRecordProcessor);
    const sustained = pipeline.records_per_s;
    emit({ phase: 'pipeline', ...pipeline });

    const floorResources = await phaseResources(clients, 'floor');
    const floorTotal = (await load(clients, floorResources.names.stream, records, Infinity, 1)).expected.sent;
    const floor = await drain(stack, clients, floorResources, floorTotal, createForwardingProcessor);
    emit({ phase: 'floor', ...floor });

    // 2. Paced: consumers running, records arriving at a fraction of the sustained rate.
    const lagAt: Record<string, unknown> = {};
    for (const fraction of [0.5, 0.9]) {
      const tag = `paced${Math.round(fraction * 100)}`;
      const paced = await phaseResources(clients, tag);
      const pacedFleet = await startFleet(stack, clients, paced);
      const getRecordsBefore = getRecordsMs.count;
      // Let the workers take their leases first, so lag measures reading, not start-up.
      await waitUntil(() => pacedFleet.workers.every((w) => w.heldShards().length > 0), 20_000);
      const rate = Math.max(1, Math.round(fraction * sustained));
      const sent = await load(clients, paced.names.stream, Math.round(rate * pacedSeconds), rate, 2);
      await waitUntil(() => pacedFleet.counters.recordsIn >= sent.expected.sent, 60_000);
      await pacedFleet.stop();
      const lag = pacedFleet.counters.lag.percentiles();
      const untilRead = pacedFleet.counters.readLag.percentiles();
      const getRecords = getRecordsMs.percentiles(getRecordsBefore);
      lagAt[`${Math.round(fraction * 100)}pct`] = {
        target_rate: rate,
        achieved_send_rate: sent.eventsPerSecond,
        ...lag,
        until_read: untilRead,
        get_records_ms: getRecords,
      };
      emit({
        phase: tag,
        target_rate: rate,
        sent: sent.expected.sent,
        send_rate: sent.eventsPerSecond,
        lag_ms: lag,
        until_read_ms: untilRead,
        get_records_ms: getRecords,
      });
    }

    emit({
      summary: true,
      shards,
      workers,
      max_records: MAX_RECORDS,
      records: total,
      ceiling_records_per_s: ceiling.recordsPerSecond,
      pipeline_records_per_s: sustained,
      ratio_to_ceiling: sustained / ceiling.recordsPerSecond,
      floor_records_per_s: floor.records_per_s,
      floor_ratio_to_ceiling: floor.records_per_s / ceiling.recordsPerSecond,
      cpu_us_per_record: {
        ceiling: ceilingCpu,
        pipeline: pipeline.cpu_us_per_record,
        floor: floor.cpu_us_per_record,
      },
      lag_ms_at_50pct: lagAt['50pct'],
      lag_ms_at_90pct: lagAt['90pct'],
      sustainable_rate_basis:
        'the catch-up rate with no producer in the process; the paced phases also run the simulator here, so lag growing through a phase means that rate was not sustainable with it',
      note: 'stream pre-loaded with PutRecords (route kinesis), not through the local EventBridge; consumers in this process, the stack in two child processes, 2 shared cores',
    });
  } finally {
    clients.destroy();
    await stack.stop();
  }
}

/**
 * Consumers started on a pre-loaded stream until they have processed `total` records. The rate counts from
 * the moment every shard is leased: start-up (table, shard sync, lease takes) is a fixed cost of the runner,
 * not throughput, and the ceiling pays nothing like it.
 */
async function drain(
  stack: LocalStackProcesses,
  clients: AwsClients,
  resources: Awaited<ReturnType<typeof phaseResources>>,
  total: number,
  createProcessor: () => RecordProcessorApi,
) {
  const fleet = await startFleet(stack, clients, resources, createProcessor);
  await waitUntil(() => fleet.workers.reduce((n, w) => n + w.heldShards().length, 0) >= shards, 30_000);
  const cpuBefore = await cpuNow(stack);
  const started = performance.now();
  const inAtStart = fleet.counters.recordsIn;
  const complete = await waitUntil(() => fleet.counters.recordsIn >= total, 150_000);
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuPerRecord(cpuBefore, await cpuNow(stack), total - inAtStart);
  await fleet.stop();
  return {
    records: fleet.counters.recordsIn,
    records_before_all_shards_leased: inAtStart,
    complete,
    seconds,
    records_per_s: (fleet.counters.recordsIn - inAtStart) / seconds,
    outputs: fleet.counters.resultsOut,
    cpu_us_per_record: cpu,
  };
}

/** Latency of every GetRecords call the clients make, ms (an SDK middleware, so nothing else changes). */
function timeGetRecords(clients: AwsClients): LagRecorder {
  const latencies = new LagRecorder();
  clients.kinesis.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'GetRecordsCommand') return next(args);
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        latencies.add(performance.now() - started);
      }
    },
    { step: 'initialize', name: 'benchGetRecordsLatency' },
  );
  return latencies;
}

await main();
