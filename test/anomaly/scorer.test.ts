import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ANOMALY_CONFIG, parseAnomalyConfig } from '../../anomaly/config.ts';
import { Word } from '../../anomaly/layout.ts';
import {
  type AnomalyConfig,
  createMetricAnomalyScorer,
  type MetricAnomalyScorer,
} from '../../anomaly/scorer.ts';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { FIVE_MINUTES, noise, START_MS, timestamps } from './series.ts';

interface Run {
  readonly scorer: MetricAnomalyScorer;
  readonly scores: number[];
}

function run(values: readonly number[], config: Partial<AnomalyConfig> = {}, stepMs = FIVE_MINUTES): Run {
  const scorer = createMetricAnomalyScorer(config);
  scorer.ensureCapacity(1);
  const ts = timestamps(values.length, stepMs);
  return { scorer, scores: values.map((v, i) => scorer.update(0, ts[i]!, v)) };
}

/** Index of the first alarm at or after `from`, or −1. */
function firstAlarm(scores: readonly number[], threshold: number, from = 0): number {
  for (let i = from; i < scores.length; i++) if (scores[i]! >= threshold) return i;
  return -1;
}

const threshold = DEFAULT_ANOMALY_CONFIG.threshold;

describe('anomaly scorer', () => {
  it('keeps a device metric within 256 bytes of state', () => {
    const scorer = createMetricAnomalyScorer();
    assert.ok(scorer.stateWords * 8 <= 256, `${scorer.stateWords} words`);
  });

  it('raises no alarm during warm-up, however wild the readings', () => {
    const wild = Array.from({ length: DEFAULT_ANOMALY_CONFIG.warmupReadings }, (_, i) =>
      i % 2 === 0 ? 1 : 1e6,
    );
    const { scores } = run(wild);
    assert.deepEqual(
      scores,
      wild.map(() => 0),
    );
  });

  it('catches a spike and explains it with the expected range and the detectors that fired', () => {
    const values = noise(600, 20, 1);
    values[500] = 32;
    const scorer = createMetricAnomalyScorer();
    scorer.ensureCapacity(1);
    const ts = timestamps(values.length);
    let spikeScore = 0;
    let explanation: ReturnType<MetricAnomalyScorer['explain']> | undefined;
    values.forEach((v, i) => {
      const score = scorer.update(0, ts[i]!, v);
      if (i === 500) {
        spikeScore = score;
        explanation = scorer.explain(0, 'temperatureC', v);
      }
    });
    assert.ok(spikeScore >= threshold, `spike scored ${spikeScore}`);
    assert.ok(explanation !== undefined);
    assert.equal(explanation.metric, 'temperatureC');
    assert.equal(explanation.observed, 32);
    assert.equal(explanation.score, spikeScore);
    assert.ok(explanation.expectedLow < 20 && explanation.expectedHigh > 20, 'range holds the normal level');
    assert.ok(explanation.expectedHigh < 32, 'range excludes the spike');
    assert.ok(explanation.detectors.includes('robust-z'), explanation.detectors.join());
  });

  it('alarms just beyond the explained range and not just inside it', () => {
    // The range an explanation gives is where the score crosses the threshold on a metric with no open
    // episode (inside one, a further alarm needs more, by design).
    const history = noise(500, 20, 1, 22);
    const ts = timestamps(history.length + 1);
    const scoreNext = (value: number) => {
      const scorer = createMetricAnomalyScorer();
      scorer.ensureCapacity(1);
      for (const [i, v] of history.entries()) scorer.update(0, ts[i]!, v);
      const words = new Float64Array(scorer.stateWords);
      scorer.exportSlot(0, words, 0);
      assert.equal(words[Word.CooldownLeft], 0, 'no episode open before the probe');
      const score = scorer.update(0, ts[history.length]!, value);
      return { score, explanation: scorer.explain(0, 'v', value) };
    };
    const { explanation } = scoreNext(20);
    const halfWidth = (explanation.expectedHigh - explanation.expectedLow) / 2;
    assert.ok(halfWidth > 2 && halfWidth < 8, `half width ${halfWidth} for σ = 1`);
    const margin = 0.05 * halfWidth;
    const outside = scoreNext(explanation.expectedHigh + margin);
    assert.ok(outside.score >= threshold, `just above the range scored ${outside.score}`);
    assert.ok(outside.explanation.detectors.includes('robust-z'), outside.explanation.detectors.join());
    // Inside the range the robust detector is quiet; another detector (a steep step) still may fire.
    const inside = scoreNext(explanation.expectedHigh - margin);
    assert.ok(
      inside.score < threshold || !inside.explanation.detectors.includes('robust-z'),
      `just inside the range scored ${inside.score} on ${inside.explanation.detectors.join()}`,
    );
    const below = scoreNext(explanation.expectedLow - margin);
    assert.ok(below.score >= threshold, `just below the range scored ${below.score}`);
  });

  it('does not alarm on ordinary Gaussian noise after warm-up', () => {
    const { scores } = run(noise(3000, 50, 2, 7));
    const alarms = scores.filter((s) => s >= threshold).length;
    // 5σ on any of five detectors: essentially never on 3000 normal readings.
    assert.ok(alarms <= 1, `${alarms} alarms`);
  });

  it('catches a stuck sensor and names it', () => {
    const values = noise(700, 20, 1, 3);
    for (let i = 500; i < 560; i++) values[i] = values[499]!;
    const { scores } = run(values);
    assert.equal(firstAlarm(scores.slice(0, 500), threshold), -1, 'quiet before the sensor sticks');
    const alarm = firstAlarm(scores, threshold, 500);
    assert.ok(alarm > 500 && alarm < 560, `first alarm at ${alarm}`);
    // Replay up to the alarm to explain it.
    const replay = run(values.slice(0, alarm + 1));
    assert.equal(replay.scorer.explain(0, 'humidityPct', values[alarm]!).detectors[0], 'stuck-sensor');
  });

  it('does not call a metric that never varies stuck', () => {
    const { scores } = run(Array.from({ length: 1000 }, () => 3.7));
    assert.equal(firstAlarm(scores, threshold), -1);
  });

  it('catches a level shift too small for the point detectors', () => {
    // 3σ: under the 5σ point detectors for almost every reading, but a shift nobody should miss.
    const values = noise(900, 20, 1, 5);
    for (let i = 600; i < values.length; i++) values[i] = values[i]! + 3;
    const { scores } = run(values);
    const alarm = firstAlarm(scores, threshold, 600);
    assert.ok(alarm >= 600 && alarm < 640, `first alarm at ${alarm}`);
    const replay = run(values.slice(0, alarm + 1));
    assert.ok(replay.scorer.explain(0, 'v', values[alarm]!).detectors.includes('level-shift'));
    // Before the shift, the same series is quiet.
    assert.equal(firstAlarm(scores.slice(0, 600), threshold, 100), -1);
  });

  it('catches an abrupt step the value range alone would allow (rate of change)', () => {
    // A smooth wave between 0 and 100 (steps of at most ~1.6), then a jump of 30 well inside the range.
    const draw = noise(800, 0, 0.2, 13);
    const values = draw.map((n, i) => 50 + 50 * Math.sin((2 * Math.PI * i) / 200) + n);
    const jumped = values.slice();
    jumped[650] = jumped[650]! + 30;
    const quiet = run(values, { seasonPeriodMs: 0 });
    const { scores } = run(jumped, { seasonPeriodMs: 0 });
    assert.equal(firstAlarm(quiet.scores, threshold, 100), -1, 'the wave alone is normal');
    assert.ok(scores[650]! >= threshold, `jump scored ${scores[650]}`);
    const replay = run(jumped.slice(0, 651), { seasonPeriodMs: 0 });
    assert.ok(replay.scorer.explain(0, 'v', jumped[650]!).detectors.includes('rate-of-change'));
  });

  it('does not alarm on a daily cycle or a slow drift once it has seen a day', () => {
    const perDay = 288;
    const draw = noise(perDay * 8, 0, 0.5, 11);
    const values = draw.map((n, i) => 20 + 8 * Math.sin((2 * Math.PI * i) / perDay) + i * 0.002 + n);
    const { scores } = run(values);
    assert.equal(firstAlarm(scores, threshold, perDay), -1);
  });

  it('alarms on a daily routine once, then only on what breaks it', () => {
    // Level 20, stepping to 60 from 09:00 to 18:00 every day (5-minute readings).
    const perDay = 288;
    const routine = noise(perDay * 8, 0, 1, 17).map((e, i) => {
      const hour = (i % perDay) / 12;
      return (hour >= 9 && hour < 18 ? 60 : 20) + e;
    });
    const { scores } = run(routine);
    assert.equal(firstAlarm(scores, threshold, perDay), -1, 'no alarm after the first day');
    assert.ok(firstAlarm(scores, threshold) >= 0, 'the first day alarms');

    const broken = routine.slice();
    broken[6 * perDay + 3 * 12] = 60; // day 6, 03:00: the day level in the night
    broken[7 * perDay + 12 * 12] = 120; // day 7, noon: far above the usual day level
    const after = run(broken).scores;
    assert.ok(after[6 * perDay + 3 * 12]! >= threshold, 'the routine step at an unusual hour alarms');
    assert.ok(after[7 * perDay + 12 * 12]! >= threshold, 'a stronger event at a routine hour alarms');
  });

  it('scores a non-finite reading 0 and carries on as if it never came', () => {
    const values = noise(400, 10, 1, 9);
    const clean = run(values).scores;
    const scorer = createMetricAnomalyScorer();
    scorer.ensureCapacity(1);
    const ts = timestamps(values.length);
    const dirty: number[] = [];
    values.forEach((v, i) => {
      if (i === 200) {
        assert.equal(scorer.update(0, ts[i]!, Number.NaN), 0);
        assert.equal(scorer.update(0, ts[i]!, Number.POSITIVE_INFINITY), 0);
      }
      dirty.push(scorer.update(0, ts[i]!, v));
    });
    assert.deepEqual(dirty, clean);
  });

  it('keeps slots independent, keeps state across ensureCapacity and clears a slot', () => {
    const scorer = createMetricAnomalyScorer();
    scorer.ensureCapacity(2);
    const values = noise(300, 5, 1, 4);
    const single = run(values).scores;
    const fromSlot1: number[] = [];
    values.forEach((v, i) => {
      scorer.update(0, START_MS + i * FIVE_MINUTES, 1000 - v);
      if (i === 150) scorer.ensureCapacity(1000);
      fromSlot1.push(scorer.update(1, START_MS + i * FIVE_MINUTES, v));
    });
    assert.deepEqual(fromSlot1, single);
    scorer.clearSlot(1);
    const snapshot = new Float64Array(scorer.stateWords);
    scorer.exportSlot(1, snapshot, 0);
    assert.ok(snapshot.every((w) => w === 0));
    assert.throws(() => scorer.update(1000, 0, 1), RangeError);
  });

  it('validates its configuration once, with ConfigError', () => {
    assert.throws(() => createMetricAnomalyScorer({ threshold: 1.5 }), ConfigError);
    assert.throws(() => createMetricAnomalyScorer({ warmupReadings: 2.5 }), ConfigError);
    assert.throws(() => createMetricAnomalyScorer({ alarmZ: Number.NaN }), ConfigError);
    assert.throws(() => parseAnomalyConfig({ nope: 1 } as Partial<AnomalyConfig>), /anomaly\.nope/);
    assert.equal(parseAnomalyConfig({ alarmZ: 4 }).alarmZ, 4);
    assert.equal(createMetricAnomalyScorer({ threshold: 0.8 }).threshold, 0.8);
  });
});
