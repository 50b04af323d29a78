import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { throughStage } from '../../consumers/processor/stage.ts';
import { record, T0 } from '../core/fixtures.ts';

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
});
