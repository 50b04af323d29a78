/**
 * The Random Cut Forest and its combination with the in-stream detector, as NAB SeriesDetectors.
 *
 * `rcf`: a forest over 8-long shingles of the series, scoring each row before learning it (causal), its raw
 * CoDisp calibrated to [0, 1] by percentile rank among the previous raw scores (models/calibrate.ts). NAB
 * picks one threshold for the whole corpus, so the scores of different files must be comparable: ranks
 * are, raw CoDisp (whose scale depends on each file's data) is not.
 *
 * `combined`: the stream's decision rule (models/combine.ts) under the stream's cost gate, with the model
 * score read as its `excess` over the recent median (how many times typical it is; a rank would say every
 * series has its 1 % of alarms). The model's score is consulted only for rows the in-stream detector flags (score ≥ gate) plus a deterministic
 * sample, exactly as models/client/ sends them; other rows keep the in-stream score. The forest still
 * learns every row, as the served model is trained on the whole archive.
 */
import { unitHash } from '../../consumers/contract/hash.ts';
import { ScoreCalibrator } from '../../models/calibrate.ts';
import { createAnomalyCombiner } from '../../models/combine.ts';
import { RandomCutForest } from '../../models/rcf/forest.ts';
import type { ForestParams } from '../../models/rcf/params.ts';
import { shingleSeries } from '../../models/rcf/shingle.ts';
import type { SeriesDetector } from './detector.ts';

export interface RcfDetectorOptions {
  /**
   * Forest parameters.
   * @default { shingle_size: 8, num_trees: 50, num_samples_per_tree: 256 } (50 trees keep the whole-corpus
   * run short; the score's variance at 50 trees is already small next to its calibration)
   */
  readonly params?: Partial<ForestParams>;
  /**
   * Raw scores the calibrator remembers.
   * @default 512 for `rank` (the rcf detector), 2048 for `excess` (the combined one). Chosen on NAB, like
   * NAB's own thresholds: a shorter rank window adapts to a file's regime changes (rcf standard score
   * 41.7 at 512 against 24.4 at 2048); the median behind `excess` wants a longer, steadier window.
   */
  readonly calibrationWindow?: number;
}

export interface CombinedDetectorOptions extends RcfDetectorOptions {
  /** @default 0.5 (as models/client) */
  readonly gate?: number;
  /** @default 0.01 (as models/client) */
  readonly sampleRate?: number;
  /** @default 0.3 (as models/combine) */
  readonly modelWeight?: number;
}

const DEFAULT_PARAMS: Partial<ForestParams> = { shingle_size: 8, num_trees: 50, num_samples_per_tree: 256 };

/**
 * The harness hands every detector the same `values` array per file; remembering the forest's scores per
 * array (and options) lets `rcf` and `combined` share one forest run instead of paying for two.
 */
const memo = new WeakMap<readonly number[], Map<string, number[]>>();

/** Raw RCF scores of a series, one per row; NaN before the first shingle and during warm-up. */
function rawRcfScores(values: readonly number[], options: RcfDetectorOptions): number[] {
  const key = JSON.stringify([options.params ?? {}, options.calibrationWindow ?? null]);
  let byOptions = memo.get(values);
  if (byOptions === undefined) {
    byOptions = new Map();
    memo.set(values, byOptions);
  }
  const known = byOptions.get(key);
  if (known !== undefined) return known;
  const scores = computeRawScores(values, options);
  byOptions.set(key, scores);
  return scores;
}

/** RCF scores in [0, 1], one per row: raw scores through the calibrator's `rank` or `excess` (causal). */
export function rcfScores(
  values: readonly number[],
  options: RcfDetectorOptions = {},
  reading: 'rank' | 'excess' = 'rank',
): number[] {
  const calibrator = new ScoreCalibrator({
    window: options.calibrationWindow ?? (reading === 'rank' ? 512 : 2048),
  });
  return rawRcfScores(values, options).map((raw) => {
    if (Number.isNaN(raw)) return 0;
    const calibrated = reading === 'rank' ? calibrator.rank(raw) : calibrator.excess(raw);
    calibrator.observe(raw);
    return calibrated;
  });
}

function computeRawScores(values: readonly number[], options: RcfDetectorOptions): number[] {
  const forest = new RandomCutForest({ ...DEFAULT_PARAMS, ...options.params, feature_dim: 1 });
  const size = forest.params.shingle_size;
  // Until every tree holds a reasonable sample, CoDisp is dominated by how few points there are.
  const warm = Math.min(64, forest.params.num_samples_per_tree);
  // Tree by tree over the whole series, with the scores scoreThenUpdate gives one at a time. Point k ends at
  // row k + size − 1; a reservoir takes every point until it is full, so after point k every tree holds
  // min(k + 1, S) of them.
  const raw = forest.scoreThenUpdateAll(
    shingleSeries(
      values.map((value) => [value]),
      1,
      size,
    ),
  );
  const samples = forest.params.num_samples_per_tree;
  return values.map((_, row) => {
    const k = row - (size - 1);
    return k >= 0 && Math.min(k + 1, samples) > warm ? raw[k]! : Number.NaN;
  });
}

export function rcfSeriesDetector(options: RcfDetectorOptions = {}): SeriesDetector {
  return { name: 'rcf', score: (_timestampsMs, values) => rcfScores(values, options) };
}

export function combinedSeriesDetector(
  inStream: SeriesDetector,
  options: CombinedDetectorOptions = {},
): SeriesDetector {
  const gate = options.gate ?? 0.5;
  const sampleRate = options.sampleRate ?? 0.01;
  const combiner = createAnomalyCombiner({ modelWeight: options.modelWeight ?? 0.3 });
  return {
    name: 'combined',
    score(timestampsMs, values) {
      const stream = inStream.score(timestampsMs, values);
      const model = rcfScores(values, options, 'excess');
      return stream.map((s, i) => {
        const consulted = s >= gate || unitHash(`row:${i}`) < sampleRate;
        return combiner.combine(s, consulted ? model[i] : undefined).score;
      });
    },
  };
}
