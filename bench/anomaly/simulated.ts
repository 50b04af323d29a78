/**
 * Precision, recall and detection delay per injected fault type: the simulator's fleet (with its labelled
 * value faults) scored by the stream's anomaly scorer, one slot per device gauge metric, readings fed in
 * send order exactly as a shard consumer would see them. No I/O: the simulation plan is pure.
 */
import { type AnomalyConfig, createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { parseSimulationConfig } from '../../sim/config.ts';
import { GAUGE_METRICS } from '../../sim/faults.ts';
import type { GroundTruthLine } from '../../sim/ground-truth.ts';
import { type Detection, type DetectionScore, scoreDetections } from '../../sim/score.ts';
import { planSimulation } from '../../sim/simulate.ts';

export interface SimulatedRunOptions {
  /** @default 40 (devices) */
  readonly devices?: number;
  /** @default 3000 (readings per device; 50 h at one a minute) */
  readonly readingsPerDevice?: number;
  /** @default 60_000 (ms of device time between readings) */
  readonly intervalMs?: number;
  /** @default 1 */
  readonly seed?: number;
  readonly anomaly?: Partial<AnomalyConfig>;
}

export interface SimulatedRunResult {
  readonly score: DetectionScore;
  readonly readings: number;
}

const decoder = new TextDecoder();

/** The metrics of an accepted record, as the consumer would decode them. */
export function metricsOf(record: {
  bus?: { Detail: string };
  stream?: { data: Uint8Array };
}): Record<string, unknown> {
  if (record.bus !== undefined)
    return (JSON.parse(record.bus.Detail) as { metrics: Record<string, unknown> }).metrics;
  const event = JSON.parse(decoder.decode(record.stream!.data)) as {
    detail: { metrics: Record<string, unknown> };
  };
  return event.detail.metrics;
}

export function runSimulatedFaults(options: SimulatedRunOptions = {}): SimulatedRunResult {
  const devices = options.devices ?? 40;
  const config = parseSimulationConfig({
    seed: options.seed ?? 1,
    devices,
    rate: Number.POSITIVE_INFINITY,
    readingsPerDevice: options.readingsPerDevice ?? 3000,
    intervalMs: options.intervalMs ?? 60_000,
  });
  const startMs = Date.UTC(2026, 0, 5);
  const plan = planSimulation(config, startMs);
  const scorer = createMetricAnomalyScorer(options.anomaly);
  scorer.ensureCapacity(devices * GAUGE_METRICS.length);

  const detections: Detection[] = [];
  let readings = 0;
  for (const record of plan.records()) {
    if (record.expect !== 'accepted' || record.copy !== 0) continue;
    const metrics = metricsOf(record);
    readings++;
    let flagged = false;
    GAUGE_METRICS.forEach((metric, m) => {
      const value = metrics[metric];
      if (typeof value !== 'number') return;
      const score = scorer.update(record.deviceIndex * GAUGE_METRICS.length + m, record.tsMs, value);
      if (score >= scorer.threshold) flagged = true;
    });
    if (flagged) detections.push({ deviceId: record.deviceId, seq: record.seq });
  }

  return { score: scoreDetections(truthOf(plan, config.seed, devices, startMs), detections), readings };
}

/** The plan's labelled value faults as ground-truth lines, after the run line scoreDetections needs. */
export function truthOf(
  plan: ReturnType<typeof planSimulation>,
  seed: number | string,
  devices: number,
  startMs: number,
): GroundTruthLine[] {
  const truth: GroundTruthLine[] = [];
  for (const intervals of plan.faults.valueFaults.values()) {
    for (const interval of intervals) {
      truth.push({
        type: 'fault',
        fault: interval.fault,
        deviceId: interval.deviceId,
        metric: interval.metric,
        fromSeq: interval.fromSeq,
        toSeq: interval.toSeq,
        from: new Date(interval.fromMs).toISOString(),
        to: new Date(interval.toMs).toISOString(),
        magnitude: interval.magnitude,
      });
    }
  }
  // scoreDetections takes the reading interval from the run line to turn delays into device time.
  const run: GroundTruthLine = {
    type: 'run',
    version: 1,
    seed: seed,
    devices,
    readingsPerDevice: plan.timing.readingsPerDevice,
    intervalMs: plan.timing.intervalMs,
    start: new Date(startMs).toISOString(),
    faults: 'default',
    speedup: 0,
    startedAt: new Date(startMs).toISOString(),
  };
  return [run, ...truth];
}

const round = (x: number | null, digits: number): number | null =>
  x === null ? null : Number(x.toFixed(digits));

/** One JSON line per fault type: what was injected, caught, recall and mean delay. */
export function faultLines(score: DetectionScore, detector: string): Record<string, unknown>[] {
  return Object.entries(score.byFault).map(([fault, result]) => ({
    type: 'simulated_fault',
    detector,
    fault,
    injected: result.injected,
    detected: result.detected,
    recall: round(result.recall, 3),
    mean_delay_readings: round(result.meanDelayReadings, 1),
  }));
}

/** Summary fields `${prefix}precision`, `${prefix}recall_<fault>`, `${prefix}delay_readings_<fault>`. */
export function faultSummary(score: DetectionScore, prefix: string): Record<string, number | null> {
  const fields: Record<string, number | null> = { [`${prefix}precision`]: round(score.precision, 3) };
  for (const [fault, result] of Object.entries(score.byFault)) {
    const key = fault.replace('-', '_');
    fields[`${prefix}recall_${key}`] = round(result.recall, 3);
    fields[`${prefix}delay_readings_${key}`] = round(result.meanDelayReadings, 1);
  }
  return fields;
}
