/**
 * The per-device-metric anomaly scorer the stream runs (and `fleetstream score` runs, on slot 0).
 *
 * Five detectors report their evidence as equivalent z-scores; the strongest, divided by `alarmZ`, is the
 * raw alarm ratio. The metric's own history then raises the bar: the ratio is divided by the largest of
 * 1, a high quantile of its past ratios (bursty metrics alarm on more than their usual bursts), and half
 * again the alarm remembered for this time of day (a daily routine alarms once, not daily). Inside an
 * episode (`cooldownReadings` after evidence near an alarm) a new alarm needs twice the evidence that
 * opened it, so one incident raises one correction. The ratio maps to a score in [0, 1] that equals
 * `threshold` at ratio 1.
 */
import { type AnomalyConfig, parseAnomalyConfig } from './config.ts';
import * as detectors from './detectors.ts';
import * as layout from './layout.ts';

// Bound once: when TypeScript runs through a loader (tsx, as in `fleetstream score` and the benches),
// every use of an imported name is a getter call, which costs more than a detector's arithmetic.
const {
  clippedResidual,
  DETECTORS,
  ewmaEvidence,
  ewmaFold,
  levelShiftEvidence,
  levelShiftFold,
  rateEvidence,
  rateFold,
  robustEvidence,
  robustFold,
  robustSeed,
  robustSigma,
  seasonalOffset,
  seasonFold,
  seasonPhase,
  stuckEvidence,
  stuckFold,
} = detectors;
const { SEASON_BINS, STATE_WORDS, Word } = layout;

export { type AnomalyConfig, DEFAULT_ANOMALY_CONFIG } from './config.ts';

export interface AnomalyExplanation {
  readonly metric: string;
  readonly observed: number;
  /** The range the detectors expected for this reading. */
  readonly expectedLow: number;
  readonly expectedHigh: number;
  /** Names of the detectors that fired, strongest first, e.g. ['ewma-z', 'level-shift']. */
  readonly detectors: readonly string[];
  readonly score: number;
}

export interface MetricAnomalyScorer {
  /** Float64 words of state per device-metric slot (≤ 32 words = 256 bytes). */
  readonly stateWords: number;
  /** Scores at or above this trigger anomaly records (and correction). */
  readonly threshold: number;
  /** Make room for slots [0, capacity); existing slots keep their state; new slots are cleared. */
  ensureCapacity(capacity: number): void;
  /** Scores a reading of the metric held in `slot` (using only earlier state), then folds it in.
   *  Returns a finite score in [0, 1] for ANY input (NaN/Infinity-safe; a non-finite value must not poison state). */
  update(slot: number, tsMs: number, value: number): number;
  /** Called right after update(slot, …) returned a score ≥ threshold; may use scratch kept from that call. */
  explain(slot: number, metric: string, value: number): AnomalyExplanation;
  exportSlot(slot: number, into: Float64Array, offset: number): void;
  importSlot(slot: number, from: Float64Array, offset: number): void;
  clearSlot(slot: number): void;
}

/** Readings beyond this magnitude are clamped before any arithmetic, so squares cannot overflow. */
const MAX_MAGNITUDE = 1e150;
/** Within an episode, a reading must beat the opening evidence by this factor to alarm again. */
const EPISODE_MARGIN = 2;
/** Evidence, relative to an alarm, that opens (or keeps open) an episode. */
const EPISODE_OPENS = 0.7;
/** A reading must beat the evidence remembered for its slice of the season by this factor to alarm. */
const SEASON_MARGIN = 1.5;
/** Only alarm-level evidence is remembered per slice: ordinary noise must not raise the bar there. */
const SEASON_REMEMBERS = 1;
/** Log-step of the evidence quantile estimator per reading. */
const QUANTILE_STEP = 0.05;

/** Where the evidence quantile starts (and restarts, should it ever underflow to 0). */
const QUANTILE_START = 0.01;

export function createMetricAnomalyScorer(config: Partial<AnomalyConfig> = {}): MetricAnomalyScorer {
  const cfg = parseAnomalyConfig(config);
  const alpha = 1 / cfg.ewmaSpanReadings;
  const thresholdOdds = (1 - cfg.threshold) / cfg.threshold;
  // The evidence (equivalent z) of a detector that alone brings the score to `threshold` on a quiet metric.
  const alarmEvidence = cfg.alarmZ;
  const seasonal = cfg.seasonPeriodMs > 0;
  const seasonWeightPerMs = seasonal ? 1 / (cfg.seasonMemoryPeriods * cfg.seasonPeriodMs) : 0;
  const binMs = cfg.seasonPeriodMs / SEASON_BINS;
  // A bin sees about binMs of readings per period, so this keeps `seasonalAlarmRetention` per period.
  const binDecayPerMs = seasonal ? -Math.log(cfg.seasonalAlarmRetention) / binMs : 0;
  // Streaming quantile in the log domain: up by step·q on exceedance, down by step·(1 − q) otherwise,
  // which settles where a fraction 1 − q of the evidence exceeds it.
  const quantileUp = Math.exp(QUANTILE_STEP * cfg.noiseQuantile);
  const quantileDown = Math.exp(-QUANTILE_STEP * (1 - cfg.noiseQuantile));
  // Readings mostly arrive at a fixed cadence: remember the last decay factor instead of an exp each time.
  let lastElapsed = -1;
  let lastDecay = 1;

  let state = new Float64Array(0);
  let capacity = 0;
  // Scratch of the last update, for explain(): evidence per detector, the baseline and its σ.
  const evidence = new Float64Array(DETECTORS.length);
  const phase = new Float64Array(2);
  let scratchSlot = -1;
  let scratchBaseline = 0;
  let scratchSigma = 0;
  let scratchBar = 1;
  let scratchScore = 0;

  function checkSlot(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= capacity) {
      throw new RangeError(`anomaly slot ${slot} outside [0, ${capacity}); call ensureCapacity first`);
    }
    return slot * STATE_WORDS;
  }

  /**
   * Logistic in log(ratio): ratio³ / (ratio³ + odds). At threshold 0.5, ratio 0.5 scores 0.11 and ratio 2
   * scores 0.89, and ratios up to ~1e5 still map to distinct doubles, so strong alarms stay ordered.
   */
  function scoreOf(ratio: number): number {
    const score = ratio > 0 ? 1 / (1 + thresholdOdds / (ratio * ratio * ratio)) : 0;
    return score >= 0 && score <= 1 ? score : 0;
  }

  function update(slot: number, tsMs: number, rawValue: number): number {
    const at = checkSlot(slot);
    scratchSlot = -1;
    if (!Number.isFinite(rawValue)) return 0;
    const x = Math.min(MAX_MAGNITUDE, Math.max(-MAX_MAGNITUDE, rawValue));
    const s = state;
    const lastTs = s[at + Word.LastTsMs]!;
    const count = s[at + Word.Count]! + 1;
    const ts = Number.isFinite(tsMs) ? tsMs : count > 1 ? lastTs : 0;

    if (count === 1) {
      s[at + Word.Count] = 1;
      s[at + Word.LastTsMs] = ts;
      s[at + Word.LastValue] = x;
      s[at + Word.EwmaMean] = x;
      s[at + Word.Median] = x;
      return 0;
    }

    if (seasonal) seasonPhase(ts, cfg.seasonPeriodMs, phase);
    const offset = seasonal ? seasonalOffset(s, at, phase[0]!, phase[1]!) : 0;
    const deseasonalized = x - offset;
    const residual = clippedResidual(s, at, deseasonalized);
    const warm = count > cfg.warmupReadings;

    // ── score, from earlier state only ──
    let ratio = 0;
    let rawRatio = 0;
    const binAt = seasonal
      ? at +
        Word.SeasonEvidence +
        Math.min(
          SEASON_BINS - 1,
          Math.floor((((ts % cfg.seasonPeriodMs) + cfg.seasonPeriodMs) % cfg.seasonPeriodMs) / binMs),
        )
      : -1;
    if (warm) {
      evidence[0] = ewmaEvidence(s, at, x);
      evidence[1] = robustEvidence(s, at, deseasonalized);
      evidence[2] = levelShiftEvidence(
        s,
        at,
        residual,
        cfg.cusumSlack,
        cfg.cusumLimit,
        cfg.levelShiftSigma,
        cfg.alarmZ,
      );
      evidence[3] = stuckEvidence(s, at, x, cfg.stuckMinReadings);
      evidence[4] = rateEvidence(s, at, x);
      let strongest = 0;
      for (let i = 0; i < evidence.length; i++) if (evidence[i]! > strongest) strongest = evidence[i]!;
      rawRatio = strongest / cfg.alarmZ;
      const usual = s[at + Word.EvidenceQuantile]!;
      scratchBar = Math.max(1, usual, seasonal ? SEASON_MARGIN * s[binAt]! : 0);
      ratio = rawRatio / scratchBar;
    }
    let effective = ratio;
    const inEpisode = s[at + Word.CooldownLeft]! > 0;
    // Sub-alarm evidence opens an episode too (it damps the readings around it), but never hides a
    // first real alarm; after an alarm, a new one needs EPISODE_MARGIN times the evidence.
    const peak = s[at + Word.EpisodePeak]!;
    if (inEpisode && !(ratio >= 1 && peak < 1)) effective = ratio / (EPISODE_MARGIN * peak);
    const score = warm ? scoreOf(effective) : 0;

    // ── fold the reading in ──
    if (ratio >= EPISODE_OPENS) {
      s[at + Word.CooldownLeft] = cfg.cooldownReadings;
      if (!inEpisode || effective >= 1) s[at + Word.EpisodePeak] = ratio;
    } else if (inEpisode) {
      s[at + Word.CooldownLeft] = s[at + Word.CooldownLeft]! - 1;
    }
    if (warm) {
      const quantile = s[at + Word.EvidenceQuantile]! > 0 ? s[at + Word.EvidenceQuantile]! : QUANTILE_START;
      s[at + Word.EvidenceQuantile] = rawRatio > quantile ? quantile * quantileUp : quantile * quantileDown;
    }
    if (seasonal && warm) {
      const elapsed = Math.min(Math.max(ts - lastTs, 0), binMs);
      if (elapsed !== lastElapsed) {
        lastElapsed = elapsed;
        lastDecay = Math.exp(-elapsed * binDecayPerMs);
      }
      s[binAt] = Math.max(s[binAt]! * lastDecay, rawRatio >= SEASON_REMEMBERS ? rawRatio : 0);
    }
    scratchBaseline = s[at + Word.Median]! + offset;
    scratchSigma = robustSigma(s, at);
    stuckFold(s, at, x, count, alpha);
    rateFold(s, at, x, count, alpha);
    ewmaFold(s, at, x, count, alpha);
    if (warm) levelShiftFold(s, at, residual, cfg.cusumSlack, cfg.cusumLimit);
    else robustSeed(s, at);
    robustFold(s, at, deseasonalized, cfg.robustStep);
    if (seasonal && count > 2) {
      const elapsed = Math.min(Math.max(ts - lastTs, 0), cfg.seasonPeriodMs);
      const sigma = robustSigma(s, at);
      seasonFold(s, at, residual * sigma, phase[0]!, phase[1]!, Math.min(1, elapsed * seasonWeightPerMs));
    }
    s[at + Word.Count] = count;
    s[at + Word.LastTsMs] = ts;
    s[at + Word.LastValue] = x;

    if (warm) {
      scratchSlot = slot;
      scratchScore = score;
    }
    return score;
  }

  return {
    stateWords: STATE_WORDS,
    threshold: cfg.threshold,
    ensureCapacity(wanted) {
      if (wanted <= capacity) return;
      const next = new Float64Array(Math.max(wanted, capacity * 2) * STATE_WORDS);
      next.set(state);
      state = next;
      capacity = next.length / STATE_WORDS;
    },
    update,
    explain(slot, metric, value) {
      const fired: { name: string; z: number }[] = [];
      if (scratchSlot === slot) {
        for (let i = 0; i < DETECTORS.length; i++) {
          if (evidence[i]! >= alarmEvidence) fired.push({ name: DETECTORS[i]!, z: evidence[i]! });
        }
        if (fired.length === 0) {
          let best = 0;
          for (let i = 1; i < DETECTORS.length; i++) if (evidence[i]! > evidence[best]!) best = i;
          fired.push({ name: DETECTORS[best]!, z: evidence[best]! });
        }
        fired.sort((a, b) => b.z - a.z);
      }
      // Where the robust detector alone would alarm, with the bar this metric's history set for the reading.
      const halfWidth = alarmEvidence * scratchBar * scratchSigma;
      return {
        metric,
        observed: value,
        expectedLow: scratchSlot === slot ? scratchBaseline - halfWidth : Number.NaN,
        expectedHigh: scratchSlot === slot ? scratchBaseline + halfWidth : Number.NaN,
        detectors: fired.map((f) => f.name),
        score: scratchSlot === slot ? scratchScore : 0,
      };
    },
    exportSlot(slot, into, offset) {
      const at = checkSlot(slot);
      into.set(state.subarray(at, at + STATE_WORDS), offset);
    },
    importSlot(slot, from, offset) {
      const at = checkSlot(slot);
      state.set(from.subarray(offset, offset + STATE_WORDS), at);
      if (scratchSlot === slot) scratchSlot = -1;
    },
    clearSlot(slot) {
      const at = checkSlot(slot);
      state.fill(0, at, at + STATE_WORDS);
      if (scratchSlot === slot) scratchSlot = -1;
    },
  };
}

export { STATE_WORDS } from './layout.ts';
