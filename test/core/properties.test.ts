/**
 * Invariants of the calculation, checked on generated fleets (fast-check, 1,000 runs each) with
 * simple-statistics as the oracle for window statistics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mean, standardDeviation } from 'simple-statistics';
import { parseFleetConfig } from '../../consumers/config.ts';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import { readingJsonBody } from '../../consumers/processor/encode.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { parseLines, type ReadingSpec, rawRecord, record, T0 } from './fixtures.ts';

const RUNS = 1000;
const config = parseFleetConfig();
const LATENESS = config.allowedLatenessMs;

interface Reading {
  spec: ReadingSpec;
  /** Order key: device time plus a delay smaller than the allowed lateness. */
  key: number;
}

/** One device's in-order readings: consecutive seqs, steady device time, plausible metrics. */
const deviceReadings = (deviceId: string) =>
  fc
    .record({
      startSeq: fc.integer({ min: 0, max: 10_000 }),
      stepMs: fc.integer({ min: 200, max: 4000 }),
      startEnergy: fc.double({ min: 0, max: 1e6, noNaN: true }),
      samples: fc.array(
        fc.record({
          temperatureC: fc.double({ min: -40, max: 60, noNaN: true }),
          humidityPct: fc.double({ min: 1, max: 100, noNaN: true }),
          energyStepWh: fc.double({ min: 0, max: 0.05, noNaN: true }),
          delayMs: fc.integer({ min: 0, max: LATENESS - 1 }),
        }),
        { minLength: 1, maxLength: 70 },
      ),
    })
    .map(({ startSeq, stepMs, startEnergy, samples }) => {
      let energyWh = startEnergy;
      return samples.map((sample, i): Reading => {
        energyWh += sample.energyStepWh;
        const tsMs = T0 + i * stepMs;
        return {
          spec: {
            deviceId,
            seq: startSeq + i,
            tsMs,
            metrics: { temperatureC: sample.temperatureC, humidityPct: sample.humidityPct, energyWh },
          },
          key: tsMs + sample.delayMs,
        };
      });
    });

const fleet = fc.tuple(deviceReadings('dev-a'), deviceReadings('dev-b'), deviceReadings('dev-c'));

/** Arrival order by device time (ties by device then seq), arrival time following the order. */
function inOrder(readings: Reading[][]): StreamRecord[] {
  return readings
    .flat()
    .sort(
      (a, b) =>
        a.spec.tsMs - b.spec.tsMs ||
        (a.spec.deviceId ?? '').localeCompare(b.spec.deviceId ?? '') ||
        a.spec.seq - b.spec.seq,
    )
    .map((r) => record({ ...r.spec, arrivalMs: r.spec.tsMs + 100 }));
}

function runAll(records: StreamRecord[], batch = 50) {
  const processor = createRecordProcessor({ config });
  const lines: { line: string }[] = [];
  let duplicates = 0;
  for (let i = 0; i < records.length; i += batch) {
    const outcome = processor.process(records.slice(i, i + batch));
    lines.push(...outcome.results);
    duplicates += outcome.counts.duplicates;
  }
  lines.push(...processor.flush().results);
  return { rows: parseLines(lines), lines: lines.map((l) => l.line), duplicates };
}

const relClose = (a: number, b: number, rel = 1e-9): boolean =>
  Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

type Stats = Record<string, number>;
type WindowRow = { id: string; metrics: Record<string, Stats> } & Record<string, unknown>;

describe('calculation properties', () => {
  it('is idempotent under duplicated input: same outputs, duplicates counted', () => {
    fc.assert(
      fc.property(fleet, fc.array(fc.nat(), { maxLength: 40 }), (readings, picks) => {
        const records = inOrder(readings);
        const withDuplicates = [...records];
        const positions = [...new Set(picks.map((p) => p % records.length))].sort((a, b) => b - a);
        for (const p of positions) withDuplicates.splice(p + 1, 0, records[p] as StreamRecord);
        const clean = runAll(records);
        const doubled = runAll(withDuplicates);
        assert.deepEqual(doubled.lines, clean.lines);
        assert.equal(doubled.duplicates, positions.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('window aggregates do not depend on arrival order within the allowed lateness', () => {
    fc.assert(
      fc.property(fleet, (readings) => {
        const ordered = inOrder(readings);
        const shuffled = readings
          .flat()
          .sort((a, b) => a.key - b.key || a.spec.seq - b.spec.seq)
          .map((r) => record({ ...r.spec, arrivalMs: r.key + 100 }));
        const windows = (records: StreamRecord[]) =>
          (runAll(records).rows.filter((r) => r.kind === 'window') as WindowRow[]).sort((a, b) =>
            a.id.localeCompare(b.id),
          );
        const expected = windows(ordered);
        const actual = windows(shuffled);
        assert.deepEqual(
          actual.map((w) => w.id),
          expected.map((w) => w.id),
        );
        actual.forEach((w, i) => {
          const e = expected[i] as WindowRow;
          for (const field of ['received', 'expected', 'completeness', 'firstSeq', 'lastSeq']) {
            assert.equal(w[field], e[field], field);
          }
          for (const [name, stats] of Object.entries(e.metrics)) {
            const got = w.metrics[name] as Stats;
            for (const exact of ['count', 'min', 'max', 'first', 'last'])
              assert.equal(got[exact], stats[exact]);
            assert.ok(relClose(got.mean as number, stats.mean as number), 'mean');
            assert.ok(relClose(got.stddev as number, stats.stddev as number, 1e-7), 'stddev');
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('sum of counter deltas equals last minus first reading when there is no reset', () => {
    fc.assert(
      fc.property(deviceReadings('dev-a'), (readings) => {
        const { rows } = runAll(inOrder([readings]));
        const first = readings[0]?.spec.metrics?.energyWh as number;
        const last = readings.at(-1)?.spec.metrics?.energyWh as number;
        const readingSum = rows
          .filter((r) => r.kind === 'reading')
          .reduce((sum, r) => sum + ((r.deltas as Stats).energyWh ?? 0), 0);
        const windowSum = (rows.filter((r) => r.kind === 'window') as WindowRow[]).reduce(
          (sum, w) => sum + (w.metrics.energyWh?.sumDelta ?? 0),
          0,
        );
        assert.ok(relClose(readingSum, last - first, 1e-9), `${readingSum} vs ${last - first}`);
        assert.ok(relClose(windowSum, last - first, 1e-9), `${windowSum} vs ${last - first}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('window mean and stddev equal simple-statistics on the same values (relative 1e-9)', () => {
    fc.assert(
      fc.property(deviceReadings('dev-a'), (readings) => {
        const { rows } = runAll(inOrder([readings]));
        const byWindow = new Map<number, number[]>();
        for (const r of readings) {
          const start = Math.floor(r.spec.tsMs / config.windowMs) * config.windowMs;
          const values = byWindow.get(start) ?? [];
          values.push(r.spec.metrics?.temperatureC as number);
          byWindow.set(start, values);
        }
        const windows = rows.filter((r) => r.kind === 'window') as WindowRow[];
        assert.equal(windows.length, byWindow.size);
        for (const w of windows) {
          const values = byWindow.get(Date.parse(w.windowStart as string)) as number[];
          const stats = w.metrics.temperatureC as Stats;
          assert.equal(stats.count, values.length);
          assert.ok(relClose(stats.mean as number, mean(values)), 'mean');
          // Absolute floor: a constant window has stddev 0 up to rounding of the values themselves.
          const oracle = standardDeviation(values);
          assert.ok(
            Math.abs((stats.stddev as number) - oracle) <=
              1e-9 * Math.max(oracle, 1e-6 * Math.abs(mean(values)), 1e-300) + 1e-12,
            `stddev ${stats.stddev} vs ${oracle}`,
          );
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('process(a ++ b) equals process(b) after restore(snapshot(process(a)))', () => {
    fc.assert(
      fc.property(fleet, fc.nat(), fc.array(fc.nat(), { maxLength: 10 }), (readings, cut, drops) => {
        // Gaps and duplicates too, so the carried state covers seq bits, anchors and open windows.
        const all = inOrder(readings);
        const dropped = new Set(drops.map((d) => d % all.length));
        const records = all.filter((_, i) => !dropped.has(i));
        if (records.length > 3) records.push(records[1] as StreamRecord);
        const split = cut % (records.length + 1);
        const a = records.slice(0, split);
        const b = records.slice(split);

        const uninterrupted = createRecordProcessor({ config });
        uninterrupted.process(a);
        const expected = [...uninterrupted.process(b).results, ...uninterrupted.flush().results].map(
          (l) => l.line,
        );

        const before = createRecordProcessor({ config });
        before.process(a);
        const after = createRecordProcessor({ config });
        after.restore([before.snapshot()]);
        const actual = [...after.process(b).results, ...after.flush().results].map((l) => l.line);
        assert.deepEqual(actual, expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('accounts for every record: in = accepted + rejected + duplicates', () => {
    const junk = fc.oneof(
      fc.string().map((s) => rawRecord(s)),
      fc.uint8Array({ maxLength: 40 }).map((b) => rawRecord(b)),
      fc
        .integer({ min: 101, max: 1000 })
        .map((h) => record({ deviceId: 'dev-x', seq: h, tsMs: T0, metrics: { humidityPct: h } })),
    );
    fc.assert(
      fc.property(
        fleet,
        fc.array(junk, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (readings, bad, dupes) => {
          const records: StreamRecord[] = inOrder(readings);
          for (const r of bad) records.splice(r.data.byteLength % (records.length + 1), 0, r);
          for (const d of dupes) records.push(records[d % records.length] as StreamRecord);
          const processor = createRecordProcessor({ config });
          const outcome = processor.process(records);
          const { counts } = outcome;
          assert.equal(counts.in, records.length);
          assert.equal(counts.in, counts.accepted + counts.rejected + counts.duplicates);
          assert.equal(outcome.rejections.length, counts.rejected);
          assert.equal(outcome.archive.length, counts.accepted);
          assert.equal(outcome.results.filter((r) => r.kind === 'reading').length, counts.accepted);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('result encoding', () => {
  it('the hand-written reading serializer writes exactly what JSON.stringify writes', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
    const metricName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/);
    const reading = fc.record(
      {
        kind: fc.constant('reading' as const),
        id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/),
        deviceId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/),
        seq: fc.nat(),
        ts: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        firmware: fc.string(),
        metrics: fc.dictionary(metricName, finite, { maxKeys: 6 }),
        deltas: fc.dictionary(metricName, finite, { maxKeys: 2 }),
        dewPointC: finite,
        powerW: finite,
        flags: fc.subarray(['COUNTER_RESET', 'OUT_OF_ORDER', 'LATE'] as const),
        anomalyScore: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: ['kind', 'id', 'deviceId', 'seq', 'ts', 'metrics', 'deltas', 'flags'] },
    );
    fc.assert(
      fc.property(reading, (r) => {
        assert.equal(`{${readingJsonBody(r)}`, JSON.stringify(r));
      }),
      { numRuns: RUNS },
    );
  });
});
