/**
 * Numenta Anomaly Benchmark scoring, written from `../shared/nab/SCORING.md` (NAB v1.1 with sweep
 * scoring). Pure: series, windows and scores in; raw and normalized scores out. Section numbers in the
 * comments refer to that document.
 */

/** An application profile (§5): how much a detection, a miss and a false alarm are worth. */
export interface NabProfile {
  readonly name: 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';
  readonly tpWeight: number;
  readonly fnWeight: number;
  readonly fpWeight: number;
}

export const NAB_PROFILES: readonly NabProfile[] = [
  { name: 'standard', tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11 },
  { name: 'reward_low_FP_rate', tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22 },
  { name: 'reward_low_FN_rate', tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11 },
];

/** A series with its anomaly windows as inclusive row-index ranges [L, R]. */
export interface NabSeries {
  readonly name: string;
  readonly rows: number;
  readonly windows: readonly (readonly [number, number])[];
}

/** Threshold meaning "detect nothing" (§6): above every score in [0, 1]. */
export const NO_DETECTION_THRESHOLD = 1.1;

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** §3: +1 far left of a window's right edge, falling through 0 at it, to −1 beyond 3 widths after. */
export function scaledSigmoid(y: number): number {
  return y > 3 ? -1.0 : 2 * sigmoid(-5 * y) - 1;
}

export const MAX_TP = scaledSigmoid(-1.0);

/** §2: rows before this index are not scored at all. */
export function probationLength(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

/**
 * Maps timestamp windows to row windows (§1: a window covers every row with start ≤ t ≤ end). Windows
 * that cover no row are dropped.
 */
export function windowsToRows(
  timestampsMs: readonly number[],
  windowsMs: readonly (readonly [number, number])[],
): [number, number][] {
  const rows: [number, number][] = [];
  for (const [start, end] of windowsMs) {
    let left = -1;
    let right = -1;
    for (let i = 0; i < timestampsMs.length; i++) {
      const t = timestampsMs[i]!;
      if (t >= start && t <= end) {
        if (left < 0) left = i;
        right = i;
      }
    }
    if (left >= 0) rows.push([left, right]);
  }
  return rows;
}

/**
 * Per-row weight (§3) and the index of the window holding the row (−1 outside every window). Rows in
 * probation get window −2 and are ignored by every score.
 */
export interface RowWeights {
  readonly weight: Float64Array;
  readonly window: Int32Array;
}

export function rowWeights(series: NabSeries, profile: NabProfile): RowWeights {
  const weight = new Float64Array(series.rows);
  const window = new Int32Array(series.rows).fill(-1);
  const windows = [...series.windows].sort((a, b) => a[0] - b[0]);
  windows.forEach(([left, right], k) => {
    const width = right - left + 1;
    for (let i = left; i <= right; i++) {
      window[i] = k;
      weight[i] = (profile.tpWeight * scaledSigmoid(-(right - i + 1) / width)) / MAX_TP;
    }
  });
  let previous: readonly [number, number] | undefined;
  let next = 0;
  for (let i = 0; i < series.rows; i++) {
    while (next < windows.length && windows[next]![1] < i) previous = windows[next++];
    if (window[i] !== -1) continue;
    if (previous === undefined) {
      weight[i] = -1.0 * profile.fpWeight;
    } else {
      const [left, right] = previous;
      const width = right - left + 1;
      weight[i] = profile.fpWeight * scaledSigmoid(Math.abs(right - i) / (width - 1));
    }
  }
  const probation = probationLength(series.rows);
  for (let i = 0; i < Math.min(probation, series.rows); i++) window[i] = -2;
  return { weight, window };
}

/** Result of one file at one threshold: the raw score (§4) and, for information, row counts. */
export interface NabFileScore {
  readonly score: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
}

/** §4: S(T) of one file. */
export function scoreFile(
  series: NabSeries,
  scores: ArrayLike<number>,
  profile: NabProfile,
  threshold: number,
  weights: RowWeights = rowWeights(series, profile),
): NabFileScore {
  const best = new Float64Array(series.windows.length).fill(Number.NEGATIVE_INFINITY);
  let fpCost = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < series.rows; i++) {
    const k = weights.window[i]!;
    if (k === -2) continue;
    const detected = scores[i]! >= threshold;
    if (k >= 0) {
      if (detected) {
        tp++;
        if (weights.weight[i]! > best[k]!) best[k] = weights.weight[i]!;
      } else fn++;
    } else if (detected) {
      fp++;
      fpCost += weights.weight[i]!;
    } else tn++;
  }
  let score = fpCost;
  for (const b of best) score += b === Number.NEGATIVE_INFINITY ? -profile.fnWeight : b;
  return { score, tp, fp, fn, tn };
}

export interface NabThreshold {
  readonly threshold: number;
  readonly score: number;
}

/**
 * §6: the one corpus-wide threshold maximizing the summed S(T), evaluated exhaustively at every distinct
 * score (plus 1.1) by sweeping the pooled rows from the highest score down; ties keep the higher T.
 */
export function optimizeThreshold(
  corpus: readonly NabSeries[],
  scores: readonly ArrayLike<number>[],
  profile: NabProfile,
): NabThreshold {
  const rowScore: number[] = [];
  const rowWeight: number[] = [];
  const rowWindow: number[] = [];
  let windowCount = 0;
  corpus.forEach((series, f) => {
    const weights = rowWeights(series, profile);
    const fileScores = scores[f]!;
    for (let i = 0; i < series.rows; i++) {
      const k = weights.window[i]!;
      if (k === -2) continue;
      rowScore.push(fileScores[i]!);
      rowWeight.push(weights.weight[i]!);
      rowWindow.push(k >= 0 ? windowCount + k : -1);
    }
    windowCount += series.windows.length;
  });
  const order = Array.from(rowScore.keys()).sort((a, b) => rowScore[b]! - rowScore[a]!);
  const best = new Float64Array(windowCount).fill(Number.NEGATIVE_INFINITY);
  let total = -profile.fnWeight * windowCount;
  let result: NabThreshold = { threshold: NO_DETECTION_THRESHOLD, score: total };
  for (let j = 0; j < order.length; ) {
    const threshold = rowScore[order[j]!]!;
    while (j < order.length && rowScore[order[j]!] === threshold) {
      const row = order[j++]!;
      const k = rowWindow[row]!;
      const w = rowWeight[row]!;
      if (k < 0) total += w;
      else if (best[k] === Number.NEGATIVE_INFINITY) {
        best[k] = w;
        total += w + profile.fnWeight;
      } else if (w > best[k]!) {
        total += w - best[k]!;
        best[k] = w;
      }
    }
    if (total > result.score) result = { threshold, score: total };
  }
  return result;
}

/** §7: 0 for the null detector, 100 for the perfect one. */
export function normalizeScore(raw: number, nullScore: number, perfectScore: number): number {
  return (100 * (raw - nullScore)) / (perfectScore - nullScore);
}

export function perfectScore(corpus: readonly NabSeries[], profile: NabProfile): number {
  return profile.tpWeight * corpus.reduce((n, s) => n + s.windows.length, 0);
}
