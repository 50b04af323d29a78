import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ScoreCalibrator } from '../../models/calibrate.ts';
import { createAnomalyCombiner } from '../../models/combine.ts';

const finite = fc.double({ min: 0, max: 300, noNaN: true });

describe('score calibrator', () => {
  it('maps into [0, 1], monotonically in the raw score, against a sliding window', () => {
    fc.assert(
      fc.property(
        fc.array(finite, { minLength: 1, maxLength: 300 }),
        finite,
        finite,
        fc.integer({ min: 1, max: 64 }),
        (history, a, b, window) => {
          const calibrator = new ScoreCalibrator({ window, minSamples: 1 });
          for (const h of history) calibrator.observe(h);
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const rLo = calibrator.rank(lo);
          const rHi = calibrator.rank(hi);
          assert.ok(rLo >= 0 && rHi <= 1 && rLo <= rHi, `${lo}→${rLo}, ${hi}→${rHi}`);
          // Oracle: the mid-rank of `lo` among the last `window` observations.
          const recent = history.slice(-window);
          const below = recent.filter((x) => x < lo).length;
          const equal = recent.filter((x) => x === lo).length;
          if (lo <= Math.max(...recent)) assert.equal(rLo, (below + 0.5 * equal) / recent.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers 0 until it has seen minSamples scores, and ranks a new maximum above everything seen', () => {
    const calibrator = new ScoreCalibrator({ minSamples: 10 });
    for (let i = 0; i < 9; i++) assert.equal(calibrator.calibrate(i), 0);
    calibrator.observe(9);
    assert.ok(calibrator.rank(50) > calibrator.rank(9));
    assert.ok(calibrator.rank(500) > calibrator.rank(50));
    assert.ok(calibrator.rank(500) < 1);
  });
});

describe('score calibrator: excess over the median', () => {
  it('is 0 up to the median and 1 − (median/raw)^(1/3) above it', () => {
    const calibrator = new ScoreCalibrator({ minSamples: 3 });
    for (const raw of [1, 2, 3, 2, 2]) calibrator.observe(raw);
    assert.equal(calibrator.quantile(0.5), 2);
    assert.equal(calibrator.excess(2), 0);
    assert.equal(calibrator.excess(16), 0.5);
    assert.ok(Math.abs(calibrator.excess(2000) - 0.9) < 1e-12);
  });
});

describe('anomaly combiner', () => {
  it('is the weighted mean when the model scored, and the in-stream score alone otherwise', () => {
    const combiner = createAnomalyCombiner({ modelWeight: 0.25, threshold: 0.6 });
    assert.deepEqual(combiner.combine(0.8, undefined), { score: 0.8, anomalous: true, usedModel: false });
    assert.deepEqual(combiner.combine(0.5, 1), { score: 0.625, anomalous: true, usedModel: true });
    assert.equal(
      combiner.combine(0.7, 0).anomalous,
      false,
      'a confident "normal" from the model vetoes a weak alarm',
    );
    assert.equal(combiner.combine(Number.NaN, 2).score, 0.25, 'inputs are clamped to [0, 1]');
  });

  it('refuses weights and thresholds outside [0, 1]', () => {
    assert.throws(() => createAnomalyCombiner({ modelWeight: 1.5 }), { code: 'CONFIG_INVALID' });
    assert.throws(() => createAnomalyCombiner({ threshold: -1 }), { code: 'CONFIG_INVALID' });
  });
});
