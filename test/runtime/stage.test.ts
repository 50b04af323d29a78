import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_METRICS, countBatch } from '../../consumers/observability/batch-metrics.ts';
import { createLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { mergeOutcomes } from '../../consumers/processor/outcome.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { throughStage } from '../../consumers/processor/stage.ts';
import { rawRecord, record, T0 } from '../core/fixtures.ts';

function observed() {
  const emf: string[] = [];
  const logs: string[] = [];
  return {
    emf,
    logs,
    deps: {
      metrics: createMetrics({ write: (line) => emf.push(line) }),
      log: createLogger({ service: 'test', write: (line) => logs.push(line) }),
    },
  };
}

describe('throughStage', () => {
  const processed = createRecordProcessor().process([record({ seq: 1, tsMs: T0 })]);

  it('hands on what the stage returns', async () => {
    const { deps } = observed();
    const changed = { ...processed, corrections: [] };
    assert.equal(await throughStage({ review: async () => changed }, processed, deps), changed);
    assert.equal(await throughStage(undefined, processed, deps), processed);
  });

  it('delivers the batch as processed when the stage fails, and counts and logs the failure', async () => {
    const { deps, emf, logs } = observed();
    const failing = {
      review: async () => {
        throw new Error('endpoint exploded');
      },
    };
    assert.equal(await throughStage(failing, processed, deps), processed);
    deps.metrics.flush();
    assert.match(emf.join(''), /"StageFailures":1/);
    assert.match(logs.join(''), /stage failed.*endpoint exploded/);
  });

  it("publishes the stage's metrics after every review, failed or not", async () => {
    const { deps, emf } = observed();
    let published = 0;
    const counting = (fails: boolean) => ({
      review: async () => {
        if (fails) throw new Error('endpoint exploded');
        return processed;
      },
      publishMetrics: (metrics: typeof deps.metrics) => {
        published++;
        metrics.count('StageCounted');
      },
    });
    await throughStage(counting(false), processed, deps);
    await throughStage(counting(true), processed, deps);
    assert.equal(published, 2);
    deps.metrics.flush();
    assert.match(emf.join(''), /"StageCounted":2/);
  });
});

describe('countBatch', () => {
  it('counts what the dashboard reads: records in, rejected, duplicates and anomalies', () => {
    const { deps, emf } = observed();
    const readings = Array.from({ length: 120 }, (_, seq) =>
      record({
        seq,
        tsMs: T0 + seq * 60_000,
        metrics: { temperatureC: seq === 110 ? 80 : 21 + (seq % 3) * 0.1 },
      }),
    );
    const outcome = createRecordProcessor().process([
      ...readings,
      readings[5]!, // a duplicate
      rawRecord('{not json', T0, 'dev-1'),
    ]);
    const anomalies = outcome.results.filter((output) => output.kind === 'anomaly').length;
    assert.ok(anomalies >= 1, 'the spike is flagged');
    countBatch(deps.metrics, outcome);
    deps.metrics.flush();
    const line = JSON.parse(emf.join('')) as Record<string, number>;
    assert.equal(line[BATCH_METRICS.recordsIn], 122);
    assert.equal(line[BATCH_METRICS.recordsRejected], 1);
    assert.equal(line[BATCH_METRICS.recordsDuplicate], 1);
    assert.equal(line[BATCH_METRICS.anomalies], anomalies);
  });
});

describe('mergeOutcomes', () => {
  it('puts parts back together in order: outputs concatenated, counts summed, scored readings kept', () => {
    const keeping = createRecordProcessor({ keepScoredReadings: true });
    const first = keeping.process([record({ seq: 1, tsMs: T0 }), rawRecord('{not json', T0, 'dev-1')]);
    const second = keeping.process([
      record({ seq: 2, tsMs: T0 + 60_000 }),
      record({ seq: 2, tsMs: T0 + 60_000 }),
    ]);
    const merged = mergeOutcomes([first, second]);
    assert.deepEqual(merged.results, [...first.results, ...second.results]);
    assert.deepEqual(merged.archive, [...first.archive, ...second.archive]);
    assert.deepEqual(merged.rejections, first.rejections);
    assert.deepEqual(merged.scoredReadings, [...first.scoredReadings!, ...second.scoredReadings!]);
    assert.deepEqual(merged.counts, { in: 4, accepted: 2, rejected: 1, duplicates: 1 });
    assert.equal(
      mergeOutcomes([createRecordProcessor().process([record({ seq: 1, tsMs: T0 })])]).scoredReadings,
      undefined,
    );
    assert.deepEqual(mergeOutcomes([]).counts, { in: 0, accepted: 0, rejected: 0, duplicates: 0 });
  });
});
