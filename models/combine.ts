/**
 * The final anomaly decision from the in-stream score and the (calibrated) model score.
 * Measured on NAB (bench/anomaly, standard profile, gate 0.5): in-stream alone 62.96; with the model
 * score as `excess` over its median and w = 0.3, 63.37; w = 0.5, 61.19 (the forest alone is a much weaker
 * detector on NAB, so it should temper the in-stream score, not outvote it).
 *
 * Rule: when the model scored the reading, the final score is the weighted mean
 *   final = (1 − w) · inStream + w · model,      w = `modelWeight`
 * and the reading is anomalous when final ≥ `threshold`. When the model did not score it (gated out, breaker
 * open, endpoint failing) the final score is the in-stream score alone, so an outage never silences alerts.
 *
 * Why a mean and not max / noisy-OR: the two detectors fail differently. The in-stream detector (EWMA,
 * robust z, CUSUM per metric) fires on any value far from a device's recent level, including harmless
 * one-off spikes; the forest scores the joint shape of the last `shingle_size` readings against a sample of
 * the fleet's history and is blind to slow drifts it has absorbed. Max or noisy-OR would keep the false
 * alarms of both, and every false alarm triggers a correction (and costs 0.11 per row in NAB's standard
 * profile). Averaging calibrated scores lets one detector's confident "normal" pull down the other's false
 * alarm, while a real anomaly usually lifts both. Both inputs must be on the same [0, 1] scale, so the model
 * score goes through ScoreCalibrator.excess first.
 */
import { ConfigError } from '../consumers/contract/errors.ts';

export interface CombineOptions {
  /**
   * Weight of the model score when it is present, in [0, 1].
   * @default 0.3
   */
  readonly modelWeight?: number;
  /**
   * Final score at or above which a reading is anomalous (and correction is triggered).
   * @default 0.9
   */
  readonly threshold?: number;
}

export interface CombinedDecision {
  /** Final score in [0, 1]. */
  readonly score: number;
  readonly anomalous: boolean;
  /** Whether the model contributed; false means the in-stream score decided alone. */
  readonly usedModel: boolean;
}

export interface AnomalyCombiner {
  readonly modelWeight: number;
  readonly threshold: number;
  /** `modelScore` is the calibrated model score in [0, 1], or undefined when the model did not score. */
  combine(inStreamScore: number, modelScore: number | undefined): CombinedDecision;
}

export function createAnomalyCombiner(options: CombineOptions = {}): AnomalyCombiner {
  const modelWeight = options.modelWeight ?? 0.3;
  const threshold = options.threshold ?? 0.9;
  if (!(modelWeight >= 0 && modelWeight <= 1)) throw new ConfigError('modelWeight must be in [0, 1]');
  if (!(threshold >= 0 && threshold <= 1)) throw new ConfigError('threshold must be in [0, 1]');
  return {
    modelWeight,
    threshold,
    combine(inStreamScore, modelScore) {
      const s = clampUnit(inStreamScore);
      if (modelScore === undefined || !Number.isFinite(modelScore)) {
        return { score: s, anomalous: s >= threshold, usedModel: false };
      }
      const score = (1 - modelWeight) * s + modelWeight * clampUnit(modelScore);
      return { score, anomalous: score >= threshold, usedModel: true };
    },
  };
}

function clampUnit(x: number): number {
  if (!(x > 0)) return 0; // NaN and negatives alike: no evidence
  return Math.min(x, 1);
}
