import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quantileSorted } from 'simple-statistics';
import { parseFrom, progressBar } from '../../cli/commands/replay.ts';
import { accountFor, checkAgainstGroundTruth, type ObservedOutcome } from '../../pipeline/accounting.ts';
import { lagPercentiles } from '../../pipeline/lag.ts';
import { composeSummary, renderSummary, type SummarySections } from '../../pipeline/summary.ts';
import type { ExpectedAccounting } from '../../sim/ground-truth.ts';

const observed: ObservedOutcome = {
  sent: 100,
  results: 90,
  rejectedByReason: { INVALID_JSON: 2, SCHEMA_VIOLATION: 3 },
  deadLettered: 1,
  duplicates: 4,
  missingReported: 6,
};

const expected: ExpectedAccounting = {
  sent: 100,
  sentVia: { eventbridge: 99, kinesis: 1 },
  accepted: 90,
  rejected: 5,
  rejectedByReason: { INVALID_JSON: 2, SCHEMA_VIOLATION: 3 },
  duplicates: 4,
  missing: 4,
  gapsFilled: 2,
  dropped: 0,
  undelivered: 0,
  byFault: {},
};

describe('accounting', () => {
  it('is balanced when every sent record is in exactly one category', () => {
    assert.deepEqual(accountFor(observed), {
      sent: 100,
      results: 90,
      rejected: 5,
      deadLettered: 1,
      duplicates: 4,
      unaccounted: 0,
      balanced: true,
    });
  });

  it('says how many records nobody accounts for', () => {
    const short = accountFor({ ...observed, results: 87 });
    assert.equal(short.balanced, false);
    assert.equal(short.unaccounted, 3);
  });

  it('names each category that differs from the ground truth, per reason too', () => {
    const check = checkAgainstGroundTruth(
      { ...observed, deadLettered: 0, rejectedByReason: { INVALID_JSON: 3, SCHEMA_VIOLATION: 2 } },
      expected,
    );
    assert.equal(check.matches, false);
    assert.deepEqual(check.mismatched, ['rejected.INVALID_JSON', 'rejected.SCHEMA_VIOLATION']);
    // Missing is predicted as missing + gapsFilled: a filled gap was still reported when it opened.
    assert.deepEqual(check.categories.missing, { expected: 6, observed: 6 });
  });
});

describe('lag percentiles', () => {
  it('are nearest-rank: the smallest sample with at least p% of samples at or below it', () => {
    const p = lagPercentiles(Float64Array.from([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]));
    assert.deepEqual(p, { count: 10, p50: 5, p90: 9, p99: 10, max: 10 });
    assert.deepEqual(lagPercentiles(new Float64Array(0)), {
      count: 0,
      p50: null,
      p90: null,
      p99: null,
      max: null,
    });
  });

  it('bracket simple-statistics interpolated quantiles', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 300 }),
        (values) => {
          const sorted = [...values].sort((a, b) => a - b);
          const ours = lagPercentiles(Float64Array.from(values));
          for (const [p, value] of [
            [0.5, ours.p50],
            [0.9, ours.p90],
            [0.99, ours.p99],
          ] as const) {
            // The nearest-rank sample is one of the two samples the interpolated quantile lies between.
            const oracle = quantileSorted(sorted, p);
            const rank = Math.ceil(p * sorted.length) - 1;
            assert.ok(value !== null && sorted.includes(value));
            assert.ok(
              Math.abs((value as number) - oracle) <=
                (sorted[Math.min(rank + 1, sorted.length - 1)] as number) -
                  (sorted[Math.max(rank - 1, 0)] as number),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('summary', () => {
  const sections: SummarySections = {
    corrections: { requested: 3, corrected: 2, deadLettered: 1, failed: 0, loops: 0 },
    rejectsByReason: { INVALID_JSON: 2 },
    accounting: accountFor(observed),
    run: {
      runId: 'r1',
      devices: 5,
      shards: 2,
      workers: 1,
      faults: 'default',
      seed: 1,
      wallSeconds: 3,
      eventsPerSecond: 33,
      lagMs: { count: 10, p50: 250, p90: 400, p99: 900, max: 950 },
      readLagMs: { count: 10, p50: 120, p90: 300, p99: 700, max: 720 },
    },
  };

  it('orders sections the same way whatever order they were given in, and leaves out absent ones', () => {
    assert.deepEqual(Object.keys(composeSummary(sections)), [
      'run',
      'accounting',
      'rejectsByReason',
      'corrections',
    ]);
  });

  it('renders the accounting equation and an added section as text', () => {
    const text = renderSummary(sections);
    assert.match(text, /lag p50 250 ms p99 900 ms \(until read: p50 120 ms p99 700 ms\)/);
    assert.match(
      text,
      /sent 100 = results 90 \+ rejected 5 \+ dead-lettered 1 \+ duplicates 4 {2}\(balanced\)/,
    );
    assert.match(text, /corrections: requested 3, corrected 2/);
  });
});

describe('replay flags', () => {
  it('reads --from as TRIM_HORIZON or an ISO instant, and refuses anything else', () => {
    assert.deepEqual(parseFrom(undefined), { type: 'TRIM_HORIZON' });
    assert.deepEqual(parseFrom('trim-horizon'), { type: 'TRIM_HORIZON' });
    assert.deepEqual(parseFrom('2026-01-02T03:04:05Z'), {
      type: 'AT_TIMESTAMP',
      timestampMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    });
    assert.deepEqual(parseFrom('2026-11-23T19:00:00+01:00'), {
      type: 'AT_TIMESTAMP',
      timestampMs: Date.UTC(2026, 10, 23, 18),
    });
    // Strict and zoned: no rolling February 30 into March, no zoneless (local) times, no epoch numbers.
    for (const text of [
      'yesterday',
      '2026-13-45T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2026-11-23T18:00:00',
      '1700000000',
    ]) {
      assert.throws(() => parseFrom(text), /ISO-8601 instant with a zone/, text);
    }
  });

  it('draws the progress bar in proportion to the records replayed', () => {
    const bar = progressBar(
      {
        phase: 'replaying',
        elapsedMs: 2000,
        sent: 200,
        total: 200,
        recordsIn: 50,
        resultsOut: 60,
        iteratorLagMs: 0,
        rejected: 1,
        deadLettered: 0,
        duplicates: 0,
        gaps: 0,
        anomalies: 0,
      },
      8,
    );
    assert.match(bar, /^replay \[##------\] {2}25\.0% {2}50\/200 records {2}25 rec\/s/);
  });
});
