import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_TP,
  NAB_PROFILES,
  type NabSeries,
  normalizeScore,
  optimizeThreshold,
  probationLength,
  rowWeights,
  scaledSigmoid,
  scoreFile,
} from '../../bench/anomaly/nab.ts';

const [standard, lowFp, lowFn] = NAB_PROFILES as [
  (typeof NAB_PROFILES)[0],
  (typeof NAB_PROFILES)[0],
  (typeof NAB_PROFILES)[0],
];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const close = (actual: number, expected: number, tolerance = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);

// 20 rows → probation floor(0.15·20) = 3 rows; one window over rows 10..13 (width 4).
const series: NabSeries = { name: 'hand', rows: 20, windows: [[10, 13]] };
const scoresWith = (detections: Record<number, number>) =>
  Array.from({ length: series.rows }, (_, i) => detections[i] ?? 0);

describe('NAB scoring (SCORING.md)', () => {
  it('uses the scaled sigmoid and maxTP of §3', () => {
    close(MAX_TP, 0.9866142981514305);
    assert.equal(scaledSigmoid(3.0001), -1);
    close(scaledSigmoid(0), 0);
    close(scaledSigmoid(-1), 2 * sigmoid(5) - 1);
  });

  it('has a probationary period of 15% capped at 750 rows (§2)', () => {
    assert.equal(probationLength(20), 3);
    assert.equal(probationLength(1000), 150);
    assert.equal(probationLength(4032), 604);
    assert.equal(probationLength(22_695), 750);
  });

  it('weights window rows from tpWeight at the left edge down toward 0 at the right (§3)', () => {
    const { weight, window } = rowWeights(series, standard);
    close(weight[10]!, 1.0);
    close(weight[11]!, (2 * sigmoid(3.75) - 1) / MAX_TP);
    close(weight[13]!, (2 * sigmoid(1.25) - 1) / MAX_TP);
    assert.deepEqual([window[9], window[10], window[13], window[14]], [-1, 0, 0, -1]);
    assert.deepEqual([window[0], window[2], window[3]], [-2, -2, -1]);
  });

  it('charges −fpWeight before the first window and a sigmoid-eased cost after it (§3)', () => {
    const { weight } = rowWeights(series, lowFp);
    close(weight[5]!, -0.22);
    // Row 14: pos = |13 − 14| / (4 − 1).
    close(weight[14]!, 0.22 * (2 * sigmoid(-5 / 3) - 1));
    // Row 19: pos = 6 / 3 = 2, still eased; beyond pos 3 the cost is the full −fpWeight.
    close(weight[19]!, 0.22 * (2 * sigmoid(-10) - 1));
    const long: NabSeries = { name: 'long', rows: 40, windows: [[10, 13]] };
    close(rowWeights(long, lowFp).weight[30]!, -0.22);
  });

  it('scores the best detection per window and every false alarm (§4)', () => {
    const scores = scoresWith({ 5: 0.9, 11: 0.8, 12: 0.8 });
    const result = scoreFile(series, scores, standard, 0.8);
    close(result.score, -0.11 + (2 * sigmoid(3.75) - 1) / MAX_TP);
    assert.deepEqual([result.tp, result.fp, result.fn, result.tn], [2, 1, 2, 12]);
  });

  it('charges fnWeight for a missed window and ignores probation rows (§2, §4)', () => {
    const scores = scoresWith({ 1: 1, 2: 1 });
    close(scoreFile(series, scores, standard, 0.5).score, -1);
    close(scoreFile(series, scores, lowFn, 0.5).score, -2);
  });

  it('picks the corpus threshold with the highest summed score, 1.1 when nothing pays (§6)', () => {
    const scores = scoresWith({ 5: 0.9, 11: 0.8 });
    const best = optimizeThreshold([series], [scores], standard);
    assert.equal(best.threshold, 0.8);
    close(best.score, -0.11 + (2 * sigmoid(3.75) - 1) / MAX_TP);

    // 40 rows, probation 6: at T = 0 the window's +1 is outweighed by 24 early false alarms at −0.11.
    const longer: NabSeries = { name: 'longer', rows: 40, windows: [[30, 33]] };
    const onlyFalseAlarms = Array.from({ length: 40 }, (_, i) => (i === 8 ? 0.9 : i === 20 ? 0.7 : 0));
    assert.deepEqual(optimizeThreshold([longer], [onlyFalseAlarms], standard), { threshold: 1.1, score: -1 });
  });

  it('keeps the higher threshold on a tie (§6)', () => {
    // Detecting row 10 alone earns 1.0; lowering T to add a row of weight 0 outside any window ties.
    const tie: NabSeries = { name: 'tie', rows: 20, windows: [[10, 13]] };
    const scores = scoresWith({ 10: 0.9 });
    const best = optimizeThreshold([tie], [scores], standard);
    assert.equal(best.threshold, 0.9);
    close(best.score, 1.0);
  });

  it('pools files and matches scoreFile at the chosen threshold', () => {
    const other: NabSeries = { name: 'other', rows: 30, windows: [[20, 25]] };
    const scoresA = scoresWith({ 12: 0.6, 17: 0.7 });
    const scoresB = Array.from({ length: 30 }, (_, i) => (i === 21 ? 0.65 : i === 8 ? 0.5 : 0.1));
    const best = optimizeThreshold([series, other], [scoresA, scoresB], standard);
    const summed =
      scoreFile(series, scoresA, standard, best.threshold).score +
      scoreFile(other, scoresB, standard, best.threshold).score;
    close(best.score, summed);
    for (const t of [0.1, 0.5, 0.6, 0.65, 0.7, 1.1]) {
      const atT =
        scoreFile(series, scoresA, standard, t).score + scoreFile(other, scoresB, standard, t).score;
      assert.ok(atT <= best.score + 1e-12, `T=${t} scores ${atT} above the optimum ${best.score}`);
    }
  });

  it('normalizes null to 0 and perfect to 100 (§7)', () => {
    assert.equal(normalizeScore(-53, -53, 53), 0);
    assert.equal(normalizeScore(53, -53, 53), 100);
    close(normalizeScore(-13.0369, -53, 53), 37.70104, 1e-4);
  });
});
