import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { EncodedOutput } from '../../consumers/processor/types.ts';
import type { Sinks } from '../../consumers/sinks/ports.ts';
import { instrument, PipelineCounters } from '../../pipeline/observe.ts';
import { record, T0 } from '../core/fixtures.ts';

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
      ];

      clock = T0; // read
      const first = processor.process(records);
      clock = T0 + 250; // acknowledged
      await sinks.results.deliver(first.results);

      assert.equal(counters.recordsIn, 2);
      assert.ok(inner.delivered.length >= 2, 'the wrapped sink still receives the results');
      const lag = counters.lag.percentiles();
      assert.equal(lag.p50, 370);
      assert.equal(lag.max, 550);
      const read = counters.readLag.percentiles();
      assert.equal(read.count, 2);
      assert.equal(read.p50, 120);
      assert.equal(read.max, 300);

      // A new lease owner re-reads the same records later: they are not new records, so no new samples.
      clock = T0 + 5000;
      const again = processor.process(records);
      clock = T0 + 5100;
      await sinks.results.deliver(again.results);
      assert.equal(counters.recordsIn, 2);
      assert.equal(counters.lag.count, 2);
      assert.equal(counters.readLag.count, 2);
    });
  }
});
