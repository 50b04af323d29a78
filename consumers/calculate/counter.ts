/**
 * Cumulative counter → delta, with reboot (reset) and rollover (wrap) detection. A delta that is negative
 * or implausibly fast is flagged and withheld: it is never reported as consumption.
 */
import { ReadingFlag } from '../contract/reasons.ts';
import * as decimal from './decimal.ts';

// Bound once, as anomaly/scorer.ts binds its detectors: through a TypeScript loader every use of an
// imported name can be a getter call, and this runs for every counter reading.
const { decimalDifference } = decimal;

export interface CounterRules {
  /** Value at which the counter rolls over, or undefined if it never does. */
  readonly wrapAt: number | undefined;
  readonly maxRatePerSecond: number;
  readonly resetFraction: number;
  readonly wrapMarginFraction: number;
}

export interface CounterDelta {
  /** The usable delta, or NaN when withheld. */
  delta: number;
  /** Why the delta is special, or undefined for an ordinary increase. */
  flag: ReadingFlag | undefined;
}

/** Computes the delta from `previous` (at `previousTsMs`) to `value` (at `tsMs`). Writes into `out`. */
export function counterDelta(
  rules: CounterRules,
  previous: number,
  previousTsMs: number,
  value: number,
  tsMs: number,
  out: CounterDelta,
): CounterDelta {
  let delta = decimalDifference(value, previous);
  let flag: ReadingFlag | undefined;
  if (delta < 0) {
    const { wrapAt } = rules;
    if (
      wrapAt !== undefined &&
      previous >= wrapAt * (1 - rules.wrapMarginFraction) &&
      value <= wrapAt * rules.wrapMarginFraction
    ) {
      delta = decimalDifference(value, previous, wrapAt);
      flag = ReadingFlag.CounterWrap;
    } else if (value <= previous * rules.resetFraction) {
      // After a reboot the counter starts again from zero: what it shows now was consumed since then.
      delta = value;
      flag = ReadingFlag.CounterReset;
    } else {
      out.delta = Number.NaN;
      out.flag = ReadingFlag.CounterNegative;
      return out;
    }
  }
  const elapsedSeconds = (tsMs - previousTsMs) / 1000;
  if (delta > 0 && (elapsedSeconds <= 0 || delta / elapsedSeconds > rules.maxRatePerSecond)) {
    out.delta = Number.NaN;
    out.flag = ReadingFlag.CounterImplausible;
    return out;
  }
  out.delta = delta;
  out.flag = flag;
  return out;
}
