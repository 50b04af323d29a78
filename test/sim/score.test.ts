import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GroundTruthLine } from '../../sim/ground-truth.ts';
import { scoreDetections } from '../../sim/score.ts';

const run: GroundTruthLine = {
  type: 'run',
  version: 1,
  seed: 1,
  devices: 2,
  readingsPerDevice: 100,
  intervalMs: 5_000,
  start: '2026-11-23T00:00:00.000Z',
  faults: 'default',
  speedup: 50,
  startedAt: '2026-11-23T00:00:00.000Z',
};

function fault(
  fault: 'spike' | 'drift' | 'stuck' | 'level-shift',
  deviceId: string,
  fromSeq: number,
  toSeq: number,
) {
  return {
    type: 'fault' as const,
    fault,
    deviceId,
    metric: 'temperatureC',
    fromSeq,
    toSeq,
    from: '',
    to: '',
    magnitude: 5,
  };
}

describe('scoreDetections', () => {
  const truth: GroundTruthLine[] = [
    run,
    fault('spike', 'dev-000000', 10, 10),
    fault('drift', 'dev-000000', 40, 80),
    fault('level-shift', 'dev-000001', 20, 50),
  ];

  it('counts caught intervals, their delay, and the share of flags that were real', () => {
    const score = scoreDetections(truth, [
      { deviceId: 'dev-000000', seq: 10 }, // spike caught at once
      { deviceId: 'dev-000000', seq: 70 }, // drift caught 30 readings in
      { deviceId: 'dev-000000', seq: 75 },
      { deviceId: 'dev-000000', seq: 75 }, // the same reading flagged twice counts once
      { deviceId: 'dev-000001', seq: 90 }, // a false alarm; the level shift is missed
    ]);
    assert.deepEqual(score.byFault.spike, {
      injected: 1,
      detected: 1,
      recall: 1,
      meanDelayReadings: 0,
      meanDelayMs: 0,
    });
    assert.equal(score.byFault.drift.meanDelayReadings, 30);
    assert.equal(score.byFault.drift.meanDelayMs, 150_000);
    assert.equal(score.byFault['level-shift'].recall, 0);
    assert.equal(score.byFault.stuck.recall, null);
    assert.equal(score.flagged, 4);
    assert.equal(score.truePositives, 3);
    assert.equal(score.precision, 0.75);
  });

  it('credits a flag within the grace readings after an interval, not beyond', () => {
    const within = scoreDetections(truth, [{ deviceId: 'dev-000001', seq: 55 }]);
    assert.equal(within.byFault['level-shift'].detected, 1);
    const beyond = scoreDetections(truth, [{ deviceId: 'dev-000001', seq: 56 }]);
    assert.equal(beyond.byFault['level-shift'].detected, 0);
    assert.equal(beyond.precision, 0);
    assert.equal(scoreDetections(truth, []).precision, null);
  });
});
