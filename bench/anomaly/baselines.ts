/**
 * The baselines every NAB run reports next to our detector, written from NAB's description of them.
 */
import { normalTail } from '../../anomaly/stats.ts';
import type { SeriesDetector } from './detector.ts';

/** Outputs a constant 0.5: at its optimal threshold it detects nothing, which defines NAB's 0. */
export const nullDetector: SeriesDetector = {
  name: 'null',
  score: (_timestamps, values) => values.map(() => 0.5),
};

/**
 * NAB's windowed Gaussian: the score is 1 − the two-sided-folded tail probability of the value under a
 * normal fitted to the last `windowSize` values; the fit is refreshed on every value until the window is
 * full, then every `stepSize` values (the window slides by whole steps).
 */
export function windowedGaussian(windowSize = 6400, stepSize = 100): SeriesDetector {
  return {
    name: 'windowed_gaussian',
    score(_timestamps, values) {
      const out: number[] = [];
      let window: number[] = [];
      let pending: number[] = [];
      let mean = 0;
      let sd = 1;
      const refit = () => {
        let sum = 0;
        for (const v of window) sum += v;
        mean = sum / window.length;
        let squares = 0;
        for (const v of window) squares += (v - mean) ** 2;
        sd = Math.sqrt(squares / window.length);
        // NAB's guard against a constant window.
        if (sd === 0) sd = 0.000001;
      };
      // While the window fills, running sums give the same fit as a refit per value, in O(1).
      let fillSum = 0;
      let fillSquares = 0;
      for (const value of values) {
        out.push(window.length > 0 ? 1 - normalTail(Math.abs(value - mean) / sd) : 0);
        if (window.length < windowSize) {
          window.push(value);
          fillSum += value;
          fillSquares += value * value;
          mean = fillSum / window.length;
          sd = Math.sqrt(Math.max(0, fillSquares / window.length - mean * mean));
          if (sd === 0) sd = 0.000001;
        } else {
          pending.push(value);
          if (pending.length === stepSize) {
            window = window.slice(stepSize).concat(pending);
            pending = [];
            refit();
          }
        }
      }
      return out;
    },
  };
}
