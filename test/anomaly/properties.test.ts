import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mean, variance } from 'simple-statistics';
import { createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { foldMeanVariance } from '../../anomaly/stats.ts';
import { FIVE_MINUTES, START_MS } from './series.ts';

const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
const anyDouble = fc.double();
/** Readings a sensor could send: mostly a noisy level, with spikes, repeats and level jumps mixed in. */
const sensorSeries = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.double({ noNaN: true, min: 19, max: 21 }) },
    { weight: 1, arbitrary: fc.constantFrom(20, 20, 20, 0, 1e3) },
    { weight: 1, arbitrary: finite },
  ),
  { minLength: 60, maxLength: 400 },
);

describe('anomaly properties', () => {
  it('running mean and variance equal simple-statistics while the weight is 1/n', () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 150 }), (values) => {
        const state = new Float64Array(2);
        for (const [i, x] of values.entries()) foldMeanVariance(state, 0, 1, x, i + 1, 1 / 200);
        const scale = Math.max(1, ...values.map(Math.abs));
        assert.ok(Math.abs(state[0]! - mean(values)) <= 1e-9 * scale, `mean ${state[0]} vs ${mean(values)}`);
        const expected = variance(values);
        assert.ok(
          Math.abs(state[1]! - expected) <= 1e-8 * scale * scale,
          `variance ${state[1]} vs ${expected}`,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('the exponential phase equals the explicitly weighted mean and variance', () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 30, maxLength: 120 }), (values) => {
        const alpha = 0.1;
        const state = new Float64Array(2);
        for (const [i, x] of values.entries()) foldMeanVariance(state, 0, 1, x, i + 1, alpha);
        // Oracle: weights of each value from the recurrence w_n = max(1/n, alpha), applied backwards.
        const weights = values.map(() => 0);
        let keep = 1;
        for (let n = values.length; n >= 1; n--) {
          const w = n === 1 ? 1 : Math.max(1 / n, alpha);
          weights[n - 1] = keep * w;
          keep *= 1 - w;
        }
        const m = values.reduce((sum, x, i) => sum + weights[i]! * x, 0);
        const v = values.reduce((sum, x, i) => sum + weights[i]! * (x - m) ** 2, 0);
        const scale = Math.max(1, ...values.map(Math.abs));
        assert.ok(Math.abs(state[0]! - m) <= 1e-9 * scale);
        assert.ok(Math.abs(state[1]! - v) <= 1e-8 * scale * scale, `variance ${state[1]} vs ${v}`);
      }),
      { numRuns: 100 },
    );
  });

  it('scores every reading in [0, 1], finite, whatever the values and timestamps (NaN and ±Infinity too)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(finite, anyDouble), fc.oneof(fc.integer(), anyDouble)), {
          maxLength: 300,
        }),
        (readings) => {
          const scorer = createMetricAnomalyScorer({ warmupReadings: 5 });
          scorer.ensureCapacity(1);
          for (const [value, ts] of readings) {
            const score = scorer.update(0, ts, value);
            assert.ok(
              Number.isFinite(score) && score >= 0 && score <= 1,
              `score ${score} for ${value} @ ${ts}`,
            );
          }
          // And the state stays usable: an ordinary reading still gets an ordinary score.
          const after = scorer.update(0, START_MS, 20);
          assert.ok(Number.isFinite(after) && after >= 0 && after <= 1);
          const words = new Float64Array(scorer.stateWords);
          scorer.exportSlot(0, words, 0);
          assert.ok(words.every(Number.isFinite), 'state holds only finite words');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a restored snapshot scores the rest of the series exactly as the original', () => {
    fc.assert(
      fc.property(sensorSeries, fc.nat(), fc.integer({ min: 0, max: 9 }), (values, cut, targetSlot) => {
        const split = cut % values.length;
        const original = createMetricAnomalyScorer({ warmupReadings: 10 });
        original.ensureCapacity(3);
        const ts = (i: number) => START_MS + i * FIVE_MINUTES;
        for (let i = 0; i < split; i++) original.update(1, ts(i), values[i]!);

        const snapshot = new Float64Array(original.stateWords + 5);
        original.exportSlot(1, snapshot, 5);
        const restored = createMetricAnomalyScorer({ warmupReadings: 10 });
        restored.ensureCapacity(10);
        restored.update(targetSlot, ts(0), 123); // stale state, overwritten by the import
        restored.importSlot(targetSlot, snapshot, 5);

        for (let i = split; i < values.length; i++) {
          assert.equal(restored.update(targetSlot, ts(i), values[i]!), original.update(1, ts(i), values[i]!));
        }
      }),
      { numRuns: 100 },
    );
  });
});
