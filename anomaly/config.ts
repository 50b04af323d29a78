/**
 * Configuration of the in-stream anomaly scorer. Parsed and validated once, when the scorer is created;
 * the hot path never re-checks it.
 */
import { ConfigError } from '../consumers/contract/errors.ts';

export interface AnomalyConfig {
  /**
   * Readings of a device metric scored 0 while the statistics settle. A z-score over a handful of points
   * is noise, not evidence.
   * @default 48 (readings)
   */
  readonly warmupReadings: number;
  /**
   * Memory of the EWMA mean/variance detector: its smoothing factor is 1 / this. Until a metric has seen
   * this many readings the average is the exact running mean and variance (Welford).
   * @default 200 (readings)
   */
  readonly ewmaSpanReadings: number;
  /**
   * Step of the streaming median and MAD estimators, as a fraction of the current MAD per reading. Small
   * steps make the robust baseline immune to the outliers it hunts: one outlier moves it by at most this.
   * @default 0.03 (fraction of MAD per reading)
   */
  readonly robustStep: number;
  /**
   * Slack `k` of the two-sided CUSUM level-shift detector, in robust standard deviations: drifts smaller
   * than this are absorbed.
   * @default 0.5 (robust σ)
   */
  readonly cusumSlack: number;
  /**
   * Decision interval `h` of the CUSUM: the accumulated excess, in robust σ, that means the level moved.
   * @default 25 (robust σ)
   */
  readonly cusumLimit: number;
  /**
   * Size of a confirmed level shift, in robust σ, that alone crosses the threshold; smaller confirmed
   * shifts score proportionally lower.
   * @default 1.5 (robust σ)
   */
  readonly levelShiftSigma: number;
  /**
   * Consecutive identical readings before the stuck-sensor detector may fire; it then also requires that
   * such a run is improbable given how often this metric repeated itself before.
   * @default 12 (readings)
   */
  readonly stuckMinReadings: number;
  /**
   * Equivalent z-score at which a detector alone crosses the threshold. Each detector reports its evidence
   * as a z-score; at this value the score is exactly `threshold`, unless the metric's own history
   * (`noiseQuantile`, the seasonal alarm memory, an open episode) has raised the bar.
   * @default 5 (σ)
   */
  readonly alarmZ: number;
  /**
   * Period of the seasonal baseline. Telemetry follows the day (temperature, load), so the robust baseline
   * carries a first-harmonic daily cycle; set 0 to disable.
   * @default 86_400_000 (ms, one day)
   */
  readonly seasonPeriodMs: number;
  /**
   * Time constant of the seasonal amplitude estimate: how many periods it averages over.
   * @default 7 (periods)
   */
  readonly seasonMemoryPeriods: number;
  /**
   * Fraction of the seasonal alarm memory kept per period. Evidence seen at the same time of day on
   * recent days raises the bar there (a reading must beat it by half again), so a daily routine stops
   * alarming after its first occurrence while a stronger event at that hour still does.
   * @default 0.9 (fraction per period)
   */
  readonly seasonalAlarmRetention: number;
  /**
   * Quantile of a metric's own evidence that an alarm must exceed. A metric whose ordinary noise is
   * heavy-tailed (bursty CPU, traffic) raises its own bar instead of alarming on every burst.
   * @default 0.995 (quantile)
   */
  readonly noiseQuantile: number;
  /**
   * Readings after an alarm during which a further alarm needs stronger evidence than the one that opened
   * the episode, so one incident raises one correction, not fifty.
   * @default 60 (readings)
   */
  readonly cooldownReadings: number;
  /**
   * Scores at or above this emit anomaly records and trigger correction.
   * @default 0.5 (score)
   */
  readonly threshold: number;
}

export const DEFAULT_ANOMALY_CONFIG: AnomalyConfig = Object.freeze({
  warmupReadings: 48,
  ewmaSpanReadings: 200,
  robustStep: 0.03,
  cusumSlack: 0.5,
  cusumLimit: 25,
  levelShiftSigma: 1.5,
  stuckMinReadings: 12,
  alarmZ: 5,
  seasonPeriodMs: 86_400_000,
  seasonMemoryPeriods: 7,
  seasonalAlarmRetention: 0.9,
  noiseQuantile: 0.995,
  cooldownReadings: 60,
  threshold: 0.5,
});

type Rule = (value: number) => boolean;
const positive: Rule = (v) => v > 0;
const nonNegative: Rule = (v) => v >= 0;
const integer =
  (min: number): Rule =>
  (v) =>
    Number.isInteger(v) && v >= min;

const RULES: { readonly [K in keyof AnomalyConfig]: readonly [Rule, string] } = {
  warmupReadings: [integer(2), 'an integer ≥ 2'],
  ewmaSpanReadings: [integer(2), 'an integer ≥ 2'],
  robustStep: [(v) => v > 0 && v < 1, 'in (0, 1)'],
  cusumSlack: [nonNegative, '≥ 0'],
  cusumLimit: [positive, '> 0'],
  levelShiftSigma: [positive, '> 0'],
  stuckMinReadings: [integer(2), 'an integer ≥ 2'],
  alarmZ: [positive, '> 0'],
  seasonPeriodMs: [nonNegative, '≥ 0 (0 disables seasonality)'],
  seasonMemoryPeriods: [(v) => v >= 1, '≥ 1'],
  seasonalAlarmRetention: [(v) => v > 0 && v < 1, 'in (0, 1)'],
  noiseQuantile: [(v) => v > 0.5 && v < 1, 'in (0.5, 1)'],
  cooldownReadings: [integer(0), 'an integer ≥ 0'],
  threshold: [(v) => v > 0 && v < 1, 'in (0, 1)'],
};

/** Merges `overrides` over the defaults and validates every field; throws ConfigError naming the field. */
export function parseAnomalyConfig(overrides: Partial<AnomalyConfig> = {}): AnomalyConfig {
  for (const key of Object.keys(overrides)) {
    if (!(key in RULES)) throw new ConfigError(`anomaly.${key}: unknown setting`);
  }
  const merged = { ...DEFAULT_ANOMALY_CONFIG };
  for (const key of Object.keys(RULES) as (keyof AnomalyConfig)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    const [rule, expectation] = RULES[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || !rule(value)) {
      throw new ConfigError(`anomaly.${key}: must be ${expectation}, got ${String(value)}`);
    }
    merged[key] = value;
  }
  return Object.freeze(merged);
}
