import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SeriesDetector } from '../../bench/anomaly/detector.ts';
import { combinedSeriesDetector, rcfSeriesDetector } from '../../bench/anomaly/rcf.ts';

const params = { num_trees: 5, num_samples_per_tree: 16, shingle_size: 4 };

/** A stand-in in-stream detector: |value − previous| squashed to [0, 1] (causal by construction). */
const jump: SeriesDetector = {
  name: 'jump',
  score: (_ts, values) =>
    values.map((v, i) => (i === 0 ? 0 : Math.min(1, Math.abs(v - values[i - 1]!) / 10))),
};

describe('NAB detectors for the forest', () => {
  it('score in [0, 1] and causally: a row’s score ignores every later row', () => {
    const detectors = [rcfSeriesDetector({ params }), combinedSeriesDetector(jump, { params, gate: 0.2 })];
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 80, maxLength: 200 }),
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (series, tail) => {
          const ts = (n: number) => Array.from({ length: n }, (_, i) => i * 60_000);
          for (const detector of detectors) {
            const full = detector.score(ts(series.length + tail.length), [...series, ...tail]);
            const prefix = detector.score(ts(series.length), [...series]);
            assert.ok(full.every((s) => s >= 0 && s <= 1));
            assert.deepEqual(full.slice(0, series.length), prefix);
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
