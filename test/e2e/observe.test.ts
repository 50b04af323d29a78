import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { EncodedOutput } from '../../consumers/processor/types.ts';
import type { Sinks } from '../../consumers/sinks/ports.ts';
import { instrument, PipelineCounters } from '../../pipeline/observe.ts';
import { rawRecord, record, T0 } from '../core/fixtures.ts';

/** Sinks that keep what they are given: the instrumentation under test wraps them. */
function keepingSinks(): Sinks & { readonly delivered: EncodedOutput[] } {
  const delivered: EncodedOutput[] = [];
  return {
    delivered,
    results: {
      async deliver(outputs) {
        delivered.push(...outputs);
      },
    },
    archive: { async deliver() {} },
    dlq: { async send() {} },
  };
}

describe('pipeline observation', () => {
  for (const perRecordVerdicts of [false, true]) {
    it(`splits each record's lag where its batch was read, and counts a re-read record once (per-record verdicts ${perRecordVerdicts})`, async () => {
      let clock = T0;
      const counters = new PipelineCounters();
      const inner = keepingSinks();
      const { createProcessor, sinks } = instrument(counters, () => createRecordProcessor(), inner, {
        perRecordVerdicts,
        now: () => clock,
      });
      const processor = createProcessor();
      const records: StreamRecord[] = [
        record({ seq: 1, tsMs: T0 - 1000, arrivalMs: T0 - 300 }),
        record({ seq: 2, tsMs: T0 - 900, arrivalMs: T0 - 120 }),
        rawRecord('not json', T0 - 50),
      ];

      clock = T0; // read
      const first = processor.process(records);
      clock = T0 + 250; // acknowledged
      await sinks.results.deliver(first.results);
      await sinks.dlq.send(first.rejections);

      // The rejected record is in its batch: read and acknowledged with the others, and dead-lettered.
      assert.equal(counters.recordsIn, 3);
      assert.deepEqual(counters.rejectedByReason(), { INVALID_JSON: 1 });
      assert.ok(inner.delivered.length >= 2, 'the wrapped sink still receives the results');
      const lag = counters.lag.percentiles();
      assert.deepEqual([lag.count, lag.p50, lag.max], [3, 370, 550]);
      const read = counters.readLag.percentiles();
      assert.deepEqual([read.count, read.p50, read.max], [3, 120, 300]);

      // A new lease owner re-reads the same records later: they are not new records, so no new samples.
      clock = T0 + 5000;
      const again = processor.process(records);
      clock = T0 + 5100;
      await sinks.results.deliver(again.results);
      assert.equal(counters.recordsIn, 3);
      assert.equal(counters.lag.count, 3);
      assert.equal(counters.readLag.count, 3);
    });
  }
});
