/**
 * A simulation run: fleet → fault injection → paced sender, with every record's fate written to the
 * ground truth. The library entry point (`npm start`, the benchmarks and the `simulate` command use it);
 * clients come in as ports, built by the caller at start-up.
 */
import { faultMixOf, type SimulationConfig, type SimulationTiming, simulationTiming } from './config.ts';
import { defaultFaultTiming, type FaultPlan, type FaultType, planFaults } from './faults.ts';
import { createFleet, type FleetSpec, fleetReadings } from './fleet.ts';
import {
  AccountingTally,
  type EventLine,
  type ExpectedAccounting,
  GROUND_TRUTH_VERSION,
  type GroundTruthSink,
} from './ground-truth.ts';
import { injectFaults, type SimRecord } from './inject.ts';
import { Rng } from './random.ts';
import {
  type Clock,
  type DeliveryResult,
  newSendStats,
  type PathStats,
  type ScheduledRecord,
  sendAll,
  systemClock,
} from './sender.ts';
import type { EventBusPort, StreamPort } from './transport.ts';

export interface SimulationPorts {
  readonly bus: EventBusPort;
  readonly stream: StreamPort;
}

/** The pure part of a run: which records exist, in send order, for a given device-time origin. */
export interface SimulationPlan {
  readonly spec: FleetSpec;
  readonly timing: SimulationTiming;
  readonly faults: FaultPlan;
  /** Records the run produces: every reading once, plus one repeat per duplicated reading. */
  readonly totalRecords: number;
  /** A fresh iterator over the records in send order; each call starts over and yields the same records. */
  records(): Generator<SimRecord>;
}

export function planSimulation(config: SimulationConfig, startMs: number): SimulationPlan {
  const timing = simulationTiming(config);
  const spec: FleetSpec = {
    seed: config.seed,
    devices: config.devices,
    intervalMs: timing.intervalMs,
    startMs,
    readingsPerDevice: timing.readingsPerDevice,
    meanHoursBetweenReboots: config.meanHoursBetweenReboots,
  };
  const profiles = createFleet(spec);
  const faults = planFaults(
    spec,
    profiles,
    faultMixOf(config),
    defaultFaultTiming(timing.intervalMs, spec.readingsPerDevice * spec.intervalMs, config.fleet),
    new Rng(config.seed, 'fault-plan'),
  );
  return {
    spec,
    timing,
    faults,
    totalRecords: spec.devices * spec.readingsPerDevice + faults.counts.duplicated,
    records: () =>
      injectFaults(fleetReadings(spec, profiles), {
        plan: faults,
        route: config.route,
        fleet: config.fleet,
        intervalMs: timing.intervalMs,
        envelope: config.envelope,
        rng: new Rng(config.seed, 'payloads'),
      }),
  };
}

/**
 * Device time of the first interval when none is configured: late enough that device time looks current,
 * early enough that no reading is ahead of the wall clock when sent (the pipeline rejects readings from
 * the future). With speedup S > 1 device time gains (1 − 1/S) ms per device-time ms on the wall clock.
 */
export function defaultStartMs(timing: SimulationTiming, wallStartMs: number): number {
  const span = timing.readingsPerDevice * timing.intervalMs;
  if (timing.speedup === undefined) return wallStartMs - span;
  return Math.floor(wallStartMs - Math.max(0, span * (1 - 1 / timing.speedup)));
}

export interface SimulationProgress {
  readonly elapsedMs: number;
  readonly totalRecords: number;
  /** Records taken from the schedule (sent, in flight or dropped on purpose). */
  readonly taken: number;
  readonly delivered: number;
  readonly failed: number;
  readonly retried: number;
  readonly dropped: number;
  /** Delivered records per wall second since the start. */
  readonly eventsPerSecond: number;
}

export interface RunOptions {
  readonly groundTruth?: GroundTruthSink;
  readonly onProgress?: (progress: SimulationProgress) => void;
  /** Stops the run early; batches already handed to a lane still complete and are accounted for. */
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
}

export interface SimulationReport {
  readonly seed: string | number;
  readonly devices: number;
  readonly readingsPerDevice: number;
  readonly intervalMs: number;
  /** Device-time ms per wall ms; null when unpaced. */
  readonly speedup: number | null;
  /** Device time of the first interval. */
  readonly start: string;
  readonly faults: string;
  /** Records produced (readings plus repeats), and what became of them. */
  readonly records: number;
  readonly delivered: number;
  readonly failed: number;
  readonly dropped: number;
  readonly eventbridge: PathStats;
  readonly kinesis: PathStats;
  /** Faults placed, by type (value faults count intervals, record faults count readings). */
  readonly planned: Readonly<Record<FaultType, number>>;
  /** What the pipeline must report for this run. */
  readonly expected: ExpectedAccounting;
  readonly wallSeconds: number;
  readonly eventsPerSecond: number;
  readonly aborted: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function toEventLine(record: SimRecord, result: DeliveryResult): EventLine {
  return {
    type: 'event',
    deviceId: record.deviceId,
    seq: record.seq,
    ts: iso(record.tsMs),
    ...(record.wireTs === undefined ? {} : { wireTs: record.wireTs }),
    firmware: record.firmware,
    via: record.via,
    copy: record.copy,
    labels: record.labels,
    expect: record.expect,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    delivered: result.delivered,
    ...(result.sentAtMs === undefined ? {} : { sentAt: iso(result.sentAtMs) }),
    ...(record.via === 'none' ? {} : { attempts: result.attempts }),
    ...(result.error === undefined ? {} : { error: result.error }),
    ...(record.delayMs === undefined ? {} : { delayMs: record.delayMs }),
    ...(record.reboot === true ? { reboot: true } : {}),
    ...(record.clean === undefined ? {} : { clean: record.clean }),
  };
}

export async function runSimulation(
  config: SimulationConfig,
  ports: SimulationPorts,
  options: RunOptions = {},
): Promise<SimulationReport> {
  const clock = options.clock ?? systemClock;
  const wallStart = clock.now();
  const timing = simulationTiming(config);
  const startMs = config.startMs ?? defaultStartMs(timing, wallStart);
  const plan = planSimulation(config, startMs);
  const sink = options.groundTruth;
  const faultsName = typeof config.faults === 'string' ? config.faults : 'custom';
  sink?.write({
    type: 'run',
    version: GROUND_TRUTH_VERSION,
    seed: config.seed,
    devices: config.devices,
    readingsPerDevice: timing.readingsPerDevice,
    intervalMs: timing.intervalMs,
    start: iso(startMs),
    faults: faultsName,
    speedup: timing.speedup ?? null,
    startedAt: iso(wallStart),
  });

  const tally = new AccountingTally();
  const stats = newSendStats();
  const speedup = timing.speedup;
  function* schedule(): Generator<ScheduledRecord> {
    for (const record of plan.records()) {
      yield {
        record,
        dueMs: speedup === undefined ? undefined : wallStart + (record.sendAtMs - startMs) / speedup,
      };
    }
  }
  const progress = (): SimulationProgress => {
    const elapsedMs = clock.now() - wallStart;
    const delivered = stats.eventbridge.delivered + stats.kinesis.delivered;
    return {
      elapsedMs,
      totalRecords: plan.totalRecords,
      taken: stats.taken,
      delivered,
      failed: stats.eventbridge.failed + stats.kinesis.failed,
      retried: stats.eventbridge.retried + stats.kinesis.retried,
      dropped: stats.dropped,
      eventsPerSecond: elapsedMs > 0 ? (delivered * 1000) / elapsedMs : 0,
    };
  };
  const onProgress = options.onProgress;
  const timer =
    onProgress === undefined
      ? undefined
      : setInterval(() => onProgress(progress()), config.progressIntervalMs);
  timer?.unref();

  try {
    await sendAll(
      schedule(),
      {
        bus: ports.bus,
        stream: ports.stream,
        settings: config.sender,
        clock,
        rng: new Rng(config.seed, 'retry-jitter'),
        signal: options.signal,
        onResult: (record, result) => {
          const line = toEventLine(record, result);
          tally.add(line);
          sink?.write(line);
        },
      },
      stats,
    );
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
  onProgress?.(progress());

  for (const intervals of plan.faults.valueFaults.values()) {
    for (const interval of intervals) {
      sink?.write({
        type: 'fault',
        fault: interval.fault,
        deviceId: interval.deviceId,
        metric: interval.metric,
        fromSeq: interval.fromSeq,
        toSeq: interval.toSeq,
        from: iso(interval.fromMs),
        to: iso(interval.toMs),
        magnitude: interval.magnitude,
      });
    }
  }
  const expected = tally.result();
  const finished = clock.now();
  const aborted = options.signal?.aborted === true;
  sink?.write({ type: 'end', finishedAt: iso(finished), aborted, expected });
  await sink?.close();

  const delivered = stats.eventbridge.delivered + stats.kinesis.delivered;
  const wallSeconds = (finished - wallStart) / 1000;
  return {
    seed: config.seed,
    devices: config.devices,
    readingsPerDevice: timing.readingsPerDevice,
    intervalMs: timing.intervalMs,
    speedup: timing.speedup ?? null,
    start: iso(startMs),
    faults: faultsName,
    records: stats.taken,
    delivered,
    failed: stats.eventbridge.failed + stats.kinesis.failed,
    dropped: stats.dropped,
    eventbridge: stats.eventbridge,
    kinesis: stats.kinesis,
    planned: plan.faults.counts,
    expected,
    wallSeconds,
    eventsPerSecond: wallSeconds > 0 ? delivered / wallSeconds : 0,
    aborted,
  };
}
