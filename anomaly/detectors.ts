/**
 * The streaming detectors. Each one reads the words of one slot (at `at`), returns its evidence for the
 * new reading as an equivalent z-score (≥ 0, using only earlier state), and folds the reading in
 * separately, so scoring never sees the reading it scores. O(1) time, no allocation, no clock but `tsMs`.
 */

import * as layout from './layout.ts';
import * as stats from './stats.ts';

// Bound once: through a TypeScript loader every use of an imported name is a getter call (see scorer.ts).
const { Word } = layout;
const { foldMeanVariance } = stats;

/** Detector names, as they appear in explanations. */
export const Detector = {
  EwmaZ: 'ewma-z',
  RobustZ: 'robust-z',
  LevelShift: 'level-shift',
  Stuck: 'stuck-sensor',
  RateOfChange: 'rate-of-change',
} as const;
export type Detector = (typeof Detector)[keyof typeof Detector];

/** Detectors in evidence-array order. */
export const DETECTORS: readonly Detector[] = [
  Detector.EwmaZ,
  Detector.RobustZ,
  Detector.LevelShift,
  Detector.Stuck,
  Detector.RateOfChange,
];

/** MAD of a normal distribution is 0.6745σ: this turns a MAD into a σ estimate. */
const MAD_TO_SIGMA = 1.4826;
/** Residuals are clipped to this many σ before they feed the CUSUM and the seasonal fit, so one wild
 *  reading cannot fake a level shift or a season on its own. */
const CLIP_SIGMA = 4;
/** The robust σ never falls below this fraction of the plain σ: a metric that sits still between rare
 *  bursts has a MAD of 0, and every burst would otherwise score as infinitely unlikely. */
const STD_FLOOR_FRACTION = 0.1;
/** The MAD moves slower than the median: a level shift in progress must not pass for wider noise. */
const MAD_STEP_FRACTION = 1;

/**
 * Smallest σ the detectors divide by: relative to the level, so a metric that never moved does not turn
 * the first rounding-error wiggle into an infinite z-score, and absolute for metrics around zero.
 */
export function sigmaFloor(level: number): number {
  return 1e-6 * Math.abs(level) + 1e-9;
}

// ── EWMA mean/variance z-score ──────────────────────────────────────────────────────────────────────

export function ewmaEvidence(s: Float64Array, at: number, x: number): number {
  const sd = Math.sqrt(s[at + Word.EwmaVariance]!);
  const mean = s[at + Word.EwmaMean]!;
  return Math.abs(x - mean) / Math.max(sd, sigmaFloor(mean));
}

export function ewmaFold(s: Float64Array, at: number, x: number, count: number, alpha: number): void {
  foldMeanVariance(s, at + Word.EwmaMean, at + Word.EwmaVariance, x, count, alpha);
}

// ── seasonal baseline (daily first harmonic) ────────────────────────────────────────────────────────

/** cos and sin of the reading's phase in the season, written to `phase[0..1]`. */
export function seasonPhase(tsMs: number, periodMs: number, phase: Float64Array): void {
  if (periodMs <= 0) {
    phase[0] = 0;
    phase[1] = 0;
    return;
  }
  const angle = (2 * Math.PI * (((tsMs % periodMs) + periodMs) % periodMs)) / periodMs;
  phase[0] = Math.cos(angle);
  phase[1] = Math.sin(angle);
}

export function seasonalOffset(s: Float64Array, at: number, cos: number, sin: number): number {
  return s[at + Word.SeasonCos]! * cos + s[at + Word.SeasonSin]! * sin;
}

/** Fits the harmonic by exponential averaging of 2·residual·cos (and ·sin): over whole periods that
 *  converges to the harmonic's coefficients, since the mean of 2cos² is 1 and of 2cos·sin is 0. */
export function seasonFold(
  s: Float64Array,
  at: number,
  residual: number,
  cos: number,
  sin: number,
  weight: number,
): void {
  s[at + Word.SeasonCos] = s[at + Word.SeasonCos]! + weight * (2 * residual * cos - s[at + Word.SeasonCos]!);
  s[at + Word.SeasonSin] = s[at + Word.SeasonSin]! + weight * (2 * residual * sin - s[at + Word.SeasonSin]!);
}

// ── robust z-score: streaming median / MAD ──────────────────────────────────────────────────────────

export function robustSigma(s: Float64Array, at: number): number {
  const median = s[at + Word.Median]!;
  return Math.max(
    MAD_TO_SIGMA * s[at + Word.Mad]!,
    STD_FLOOR_FRACTION * Math.sqrt(s[at + Word.EwmaVariance]!),
    sigmaFloor(median),
  );
}

/** `deseasonalized` is the reading minus the seasonal offset. */
export function robustEvidence(s: Float64Array, at: number, deseasonalized: number): number {
  return Math.abs(deseasonalized - s[at + Word.Median]!) / robustSigma(s, at);
}

/**
 * Stochastic-approximation median and MAD: each reading moves the median by a fixed fraction of the MAD
 * toward itself, and scales the MAD up or down by a fixed factor. Both settle where half the readings lie
 * on each side, and an outlier of any size moves them no more than an ordinary reading does.
 */
export function robustFold(s: Float64Array, at: number, deseasonalized: number, step: number): void {
  const median = s[at + Word.Median]!;
  const mad = Math.max(s[at + Word.Mad]!, sigmaFloor(median) / MAD_TO_SIGMA);
  const deviation = deseasonalized - median;
  if (deviation > 0) s[at + Word.Median] = median + Math.min(step * mad, deviation);
  else if (deviation < 0) s[at + Word.Median] = median - Math.min(step * mad, -deviation);
  const scaleStep = step * MAD_STEP_FRACTION;
  s[at + Word.Mad] = Math.abs(deviation) > mad ? mad * (1 + scaleStep) : mad / (1 + scaleStep);
}

/** During warm-up the MAD has not converged: seed it from the (exact, running) standard deviation. */
export function robustSeed(s: Float64Array, at: number): void {
  const fromVariance = Math.sqrt(s[at + Word.EwmaVariance]!) / MAD_TO_SIGMA;
  if (s[at + Word.Mad]! < fromVariance) s[at + Word.Mad] = fromVariance;
}

/** The residual in robust σ, clipped: what the CUSUM and the seasonal fit consume. */
export function clippedResidual(s: Float64Array, at: number, deseasonalized: number): number {
  const z = (deseasonalized - s[at + Word.Median]!) / robustSigma(s, at);
  return Math.min(CLIP_SIGMA, Math.max(-CLIP_SIGMA, z));
}

// ── level shift: two-sided CUSUM (Page 1954) on the robust residual ─────────────────────────────────

/**
 * Evidence only when a sum crosses the limit (a confirmed shift), graded by the size of the shift: Page's
 * estimate, slack plus the mean excess over the run, in robust σ. A shift of `alarmShift` σ scores as
 * `alarmZ`. A slow wander that takes long to cross estimates a small shift and stays quiet.
 */
export function levelShiftEvidence(
  s: Float64Array,
  at: number,
  residual: number,
  slack: number,
  limit: number,
  alarmShift: number,
  alarmZ: number,
): number {
  const up = s[at + Word.CusumUp]! + residual - slack;
  const down = s[at + Word.CusumDown]! - residual - slack;
  if (up >= limit) return (alarmZ * (slack + up / (s[at + Word.CusumUpReadings]! + 1))) / alarmShift;
  if (down >= limit) return (alarmZ * (slack + down / (s[at + Word.CusumDownReadings]! + 1))) / alarmShift;
  return 0;
}

/**
 * Accumulates; once a sum crosses the limit the shift is confirmed, so the baseline jumps to the new
 * level (Page's estimate: slack plus the mean excess over the run) instead of creeping there for hundreds
 * of readings and alarming all the way.
 */
export function levelShiftFold(
  s: Float64Array,
  at: number,
  residual: number,
  slack: number,
  limit: number,
): void {
  const up = Math.max(0, s[at + Word.CusumUp]! + residual - slack);
  const down = Math.max(0, s[at + Word.CusumDown]! - residual - slack);
  s[at + Word.CusumUpReadings] = up > 0 ? s[at + Word.CusumUpReadings]! + 1 : 0;
  s[at + Word.CusumDownReadings] = down > 0 ? s[at + Word.CusumDownReadings]! + 1 : 0;
  s[at + Word.CusumUp] = up;
  s[at + Word.CusumDown] = down;
  if (up >= limit || down >= limit) {
    const sigma = robustSigma(s, at);
    const shift =
      up >= limit
        ? slack + up / s[at + Word.CusumUpReadings]!
        : -(slack + down / s[at + Word.CusumDownReadings]!);
    s[at + Word.Median] = s[at + Word.Median]! + shift * sigma;
    s[at + Word.CusumUp] = 0;
    s[at + Word.CusumDown] = 0;
    s[at + Word.CusumUpReadings] = 0;
    s[at + Word.CusumDownReadings] = 0;
  }
}

// ── stuck sensor ────────────────────────────────────────────────────────────────────────────────────

/** Repeat probabilities below this are not trusted: a metric seen repeating "never" still might. */
const MIN_REPEAT_RATE = 1e-3;

/**
 * A run of r repeats has probability ≈ p^r when values repeated with rate p before. The evidence is the
 * z-score with the same tail probability (−ln Q(z) ≈ z²/2), so it is comparable with the other detectors.
 */
export function stuckEvidence(s: Float64Array, at: number, x: number, minReadings: number): number {
  if (x !== s[at + Word.LastValue]) return 0;
  const run = s[at + Word.RunLength]! + 1;
  if (run + 1 < minReadings) return 0;
  const rate = Math.max(s[at + Word.RepeatRate]!, MIN_REPEAT_RATE);
  if (rate >= 1) return 0;
  return Math.sqrt(-2 * run * Math.log(rate));
}

export function stuckFold(s: Float64Array, at: number, x: number, count: number, alpha: number): void {
  const repeated = x === s[at + Word.LastValue] ? 1 : 0;
  s[at + Word.RunLength] = repeated === 1 ? s[at + Word.RunLength]! + 1 : 0;
  const weight = Math.max(1 / count, alpha);
  s[at + Word.RepeatRate] = s[at + Word.RepeatRate]! + weight * (repeated - s[at + Word.RepeatRate]!);
}

// ── rate of change ──────────────────────────────────────────────────────────────────────────────────

export function rateEvidence(s: Float64Array, at: number, x: number): number {
  const step = x - s[at + Word.LastValue]!;
  const mean = s[at + Word.StepMean]!;
  const sd = Math.max(Math.sqrt(s[at + Word.StepVariance]!), sigmaFloor(s[at + Word.LastValue]!));
  return Math.abs(step - mean) / sd;
}

export function rateFold(s: Float64Array, at: number, x: number, count: number, alpha: number): void {
  foldMeanVariance(
    s,
    at + Word.StepMean,
    at + Word.StepVariance,
    x - s[at + Word.LastValue]!,
    count - 1,
    alpha,
  );
}
