/**
 * Turns raw RCF scores (mean CoDisp, unbounded above, scale depending on the data) into [0, 1], causally,
 * against a sliding window of the previous raw scores. Two readings of the same window:
 *
 * - `rank`: the percentile rank. Needs no assumption about the score's distribution (CoDisp is heavy-tailed
 *   and data dependent) and orders a series' points well, but every series gets the same share of high
 *   ranks, anomalous or not. Scores above everything in the window map into (1 − 0.5/n, 1), ordered by how
 *   far they exceed the maximum, so a larger outlier still ranks above a smaller one.
 * - `excess`: how many times the window's median the score is, as 1 − (median / raw)^(1/3): 0 at or below
 *   the median, 0.5 at 8×, 0.9 at 1000×. It keeps the magnitude a rank throws away, which is what a
 *   second opinion on an in-stream alarm needs (combine.ts). The cube root was chosen on NAB (see the
 *   models README section); 3 spreads the 2×–100× range where CoDisp outliers sit.
 */
export interface CalibratorOptions {
  /**
   * Raw scores remembered, in a sliding window.
   * @default 2048
   */
  readonly window?: number;
  /**
   * Below this many remembered scores the calibrator answers 0 (no evidence yet).
   * @default 32
   */
  readonly minSamples?: number;
}

export class ScoreCalibrator {
  private readonly window: number;
  private readonly minSamples: number;
  /** The window's scores in arrival order (a ring) and the same scores sorted. */
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private count = 0;

  constructor(options: CalibratorOptions = {}) {
    this.window = options.window ?? 2048;
    this.minSamples = options.minSamples ?? 32;
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new RangeError('window must be a positive integer');
    this.ring = new Float64Array(this.window);
    this.sorted = new Float64Array(this.window);
  }

  /** Whether enough scores are remembered for `rank` and `excess` to carry evidence. */
  get warm(): boolean {
    return Math.min(this.count, this.window) >= this.minSamples;
  }

  /** The calibrated value of `raw` against the scores seen so far (not including itself). */
  rank(raw: number): number {
    const n = Math.min(this.count, this.window);
    if (n < this.minSamples || !Number.isFinite(raw)) return 0;
    const sorted = this.sorted;
    const below = lowerBound(sorted, n, raw);
    const notAbove = upperBound(sorted, n, raw);
    if (notAbove === n && below === n) {
      const max = sorted[n - 1]!;
      return max > 0 ? 1 - (0.5 / n) * (max / raw) : 1 - 0.5 / n;
    }
    return (below + 0.5 * (notAbove - below)) / n;
  }

  /** 1 − (median / raw)^(1/3), or 0 at or below the median (and before minSamples scores). */
  excess(raw: number): number {
    const n = Math.min(this.count, this.window);
    if (n < this.minSamples || !(raw > 0)) return 0;
    const median = this.quantile(0.5);
    if (raw <= median) return 0;
    return median > 0 ? 1 - Math.cbrt(median / raw) : 1;
  }

  /** The q-quantile (nearest rank) of the remembered scores; NaN when none. */
  quantile(q: number): number {
    const n = Math.min(this.count, this.window);
    if (n === 0) return Number.NaN;
    return this.sorted[Math.min(n - 1, Math.max(0, Math.floor(q * n)))]!;
  }

  /** Remembers a raw score, forgetting the oldest once the window is full. */
  observe(raw: number): void {
    if (!Number.isFinite(raw)) return;
    const sorted = this.sorted;
    let n = Math.min(this.count, this.window);
    if (this.count >= this.window) {
      const old = this.ring[this.count % this.window]!;
      const at = lowerBound(sorted, n, old);
      sorted.copyWithin(at, at + 1, n);
      n--;
    }
    const at = upperBound(sorted, n, raw);
    sorted.copyWithin(at + 1, at, n);
    sorted[at] = raw;
    this.ring[this.count % this.window] = raw;
    this.count++;
  }

  /** `rank` then `observe`: the causal order for a stream. */
  calibrate(raw: number): number {
    const value = this.rank(raw);
    this.observe(raw);
    return value;
  }
}

function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
