/**
 * Word offsets of one device metric's state inside the scorer's Float64Array (array of structs, one
 * stride per slot). Everything a detector knows lives here, so exporting these words is a complete,
 * exact snapshot: a lease that moves to another worker keeps its detectors warm.
 */
export const Word = {
  /** Finite readings folded in so far. */
  Count: 0,
  LastTsMs: 1,
  LastValue: 2,
  /** EWMA z-score detector. */
  EwmaMean: 3,
  EwmaVariance: 4,
  /** Robust detector: streaming median and median absolute deviation of the deseasonalized value. */
  Median: 5,
  Mad: 6,
  /** Daily first harmonic of the seasonal baseline: value ≈ median + cos·a + sin·b. */
  SeasonCos: 7,
  SeasonSin: 8,
  /** Two-sided CUSUM sums (robust σ) and the readings each has been accumulating for. */
  CusumUp: 9,
  CusumDown: 10,
  CusumUpReadings: 11,
  CusumDownReadings: 12,
  /** Stuck sensor: readings in the current run of identical values, and how often values repeated before. */
  RunLength: 13,
  RepeatRate: 14,
  /** Rate-of-change detector: mean and variance of the step between consecutive readings. */
  StepMean: 15,
  StepVariance: 16,
  /** Alarm episode: readings left before the episode closes, and the strongest evidence seen in it. */
  CooldownLeft: 17,
  EpisodePeak: 18,
  /**
   * Seasonal alarm memory: for each of SEASON_BINS slices of the season, the strongest evidence seen in
   * that slice on recent days (decaying). Something that happens every day at 09:00 is not an anomaly.
   */
  SeasonEvidence: 19,
  /** A high quantile of this metric's own evidence: how surprising its ordinary noise is. */
  EvidenceQuantile: 31,
} as const;

export const SEASON_BINS = 12;

/** Words per slot. Fixed by the snapshot format: changing it changes the snapshot version. */
export const STATE_WORDS = 32;
