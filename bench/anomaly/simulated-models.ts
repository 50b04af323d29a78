/**
 * The served model on the simulator's fleet, alone and as the stream uses it (models/review): precision,
 * recall and delay per injected fault type, comparable with the in-stream detector's (simulated.ts).
 *
 * The model is trained as in AWS and as `npm start --model-dir` does: batch, on a fault-free run of the same
 * fleet (another seed), shingles of each device's `temperatureC` (the stream's default model metric), and
 * frozen while the faulty run is scored. Readings go in send order, as a shard consumer sees them.
 *
 * - `rcf`: every reading with a full shingle is scored; its raw CoDisp as `excess` over the median of the
 *   fleet's earlier scores (models/calibrate.ts) is the score, alarming at the stream threshold.
 * - `combined`: the stream's rule. In-stream alarms on the model's metric plus a 1 % deterministic sample go
 *   to the model, the sample calibrates, combine.ts decides; an alarm on another metric, before the
 *   calibrator is warm, or without a full shingle, stands on the in-stream score.
 */
import { createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { unitHash } from '../../consumers/contract/hash.ts';
import { ScoreCalibrator } from '../../models/calibrate.ts';
import { createAnomalyCombiner } from '../../models/combine.ts';
import { RandomCutForest } from '../../models/rcf/forest.ts';
import type { ForestParams } from '../../models/rcf/params.ts';
import { Shingle } from '../../models/rcf/shingle.ts';
import { parseSimulationConfig } from '../../sim/config.ts';
import { GAUGE_METRICS } from '../../sim/faults.ts';
import { type Detection, type DetectionScore, scoreDetections } from '../../sim/score.ts';
import { planSimulation } from '../../sim/simulate.ts';
import { metricsOf, truthOf } from './simulated.ts';

export interface SimulatedModelsOptions {
  /** @default 30 */
  readonly devices?: number;
  /** @default 3000 */
  readonly readingsPerDevice?: number;
  /** @default { shingle_size: 8, num_trees: 50, num_samples_per_tree: 256 } (as the NAB model detectors) */
  readonly params?: Partial<ForestParams>;
  /** @default 0.01 (as models/client) */
  readonly sampleRate?: number;
}

export interface SimulatedModelsResult {
  readonly rcf: DetectionScore;
  readonly combined: DetectionScore;
  /** Readings the combination sent to the model (alarms and sample). */
  readonly modelCalls: number;
}

const MODEL_METRIC = 'temperatureC';
const START_MS = Date.UTC(2026, 0, 5);
const INTERVAL_MS = 60_000;

function plan(devices: number, readingsPerDevice: number, seed: number, faults: 'default' | 'none') {
  const config = parseSimulationConfig({
    seed,
    devices,
    rate: Number.POSITIVE_INFINITY,
    readingsPerDevice,
    intervalMs: INTERVAL_MS,
    faults,
  });
  return { config, plan: planSimulation(config, START_MS) };
}

function shingleOf(shingles: Map<string, Shingle>, deviceId: string, size: number): Shingle {
  let shingle = shingles.get(deviceId);
  if (shingle === undefined) {
    shingle = new Shingle(1, size);
    shingles.set(deviceId, shingle);
  }
  return shingle;
}

export function runSimulatedModels(options: SimulatedModelsOptions = {}): SimulatedModelsResult {
  const devices = options.devices ?? 30;
  const readingsPerDevice = options.readingsPerDevice ?? 3000;
  const params = { shingle_size: 8, num_trees: 50, num_samples_per_tree: 256, ...options.params };
  const sampleRate = options.sampleRate ?? 0.01;
  const shingleSize = params.shingle_size;

  // Batch training on a fault-free fleet: a uniform sample of its history (no time decay), as the archive trainer.
  const forest = new RandomCutForest({ ...params, feature_dim: 1, time_decay: 0 });
  const training = plan(devices, readingsPerDevice, 2, 'none').plan;
  const trainingShingles = new Map<string, Shingle>();
  const trainingPoints: Float64Array[] = [];
  for (const record of training.records()) {
    if (record.expect !== 'accepted' || record.copy !== 0) continue;
    const value = metricsOf(record)[MODEL_METRIC];
    if (typeof value !== 'number') continue;
    const point = shingleOf(trainingShingles, record.deviceId, shingleSize).push([value]);
    // Copied: a shingle reuses its buffer.
    if (point !== undefined) trainingPoints.push(point.slice());
  }
  forest.updateAll(trainingPoints);

  const { config, plan: run } = plan(devices, readingsPerDevice, 1, 'default');
  const scorer = createMetricAnomalyScorer();
  scorer.ensureCapacity(devices * GAUGE_METRICS.length);
  const threshold = scorer.threshold;
  const combiner = createAnomalyCombiner({ threshold });
  const rcfCalibrator = new ScoreCalibrator();
  const reviewCalibrator = new ScoreCalibrator();
  const shingles = new Map<string, Shingle>();
  const rcf: Detection[] = [];
  const combined: Detection[] = [];
  let modelCalls = 0;

  for (const record of run.records()) {
    if (record.expect !== 'accepted' || record.copy !== 0) continue;
    const metrics = metricsOf(record);
    let inStream = 0;
    let otherMetricAlarm = false;
    GAUGE_METRICS.forEach((metric, m) => {
      const value = metrics[metric];
      if (typeof value !== 'number') return;
      const score = scorer.update(record.deviceIndex * GAUGE_METRICS.length + m, record.tsMs, value);
      if (score > inStream) inStream = score;
      if (score >= threshold && metric !== MODEL_METRIC) otherMetricAlarm = true;
    });
    const value = metrics[MODEL_METRIC];
    let point: Float64Array | undefined;
    if (typeof value === 'number') {
      point = shingleOf(shingles, record.deviceId, shingleSize).push([value]);
    }
    const at = { deviceId: record.deviceId, seq: record.seq };

    // The frozen forest gives one score per shingle; the forest alone and the combination both read it.
    const raw = point === undefined ? undefined : forest.score(point);
    if (raw !== undefined) {
      if (rcfCalibrator.warm && rcfCalibrator.excess(raw) >= threshold) rcf.push(at);
      rcfCalibrator.observe(raw);
    }

    const alarmed = inStream >= threshold;
    // The model only sees its own metric: an alarm on any other stands on the in-stream score.
    const reviewable = alarmed && !otherMetricAlarm;
    const id = `${record.deviceId}:r:${record.seq}`;
    if (raw !== undefined && (reviewable || (!alarmed && unitHash(id) < sampleRate))) {
      modelCalls++;
      const calibrated = reviewCalibrator.warm ? reviewCalibrator.excess(raw) : undefined;
      reviewCalibrator.observe(raw);
      if (reviewable && combiner.combine(inStream, calibrated).anomalous) combined.push(at);
    } else if (alarmed) {
      combined.push(at);
    }
  }

  const truth = truthOf(run, config.seed, devices, START_MS);
  return {
    rcf: scoreDetections(truth, rcf),
    combined: scoreDetections(truth, combined),
    modelCalls,
  };
}
