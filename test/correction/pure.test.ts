/** Unit tests and fast-check properties for the pure parts of automatic correction. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { requestsFromResultLines } from '../../anomaly/correction/after-run.ts';
import { rangesInclude, seqRanges } from '../../anomaly/correction/history.ts';
import {
  encodeCorrectionMessage,
  parseCorrectionMessage,
  requestKey,
} from '../../anomaly/correction/messages.ts';
import { parseRawLine, recalculateWindow, windowDifferences } from '../../anomaly/correction/recalculate.ts';
import { latestVersions, parseResultLines } from '../../anomaly/correction/results.ts';
import { selectedForVerification } from '../../anomaly/correction/verifier.ts';
import { parseFleetConfig } from '../../consumers/config.ts';
import { fnv1a } from '../../consumers/contract/hash.ts';
import type { CorrectionRequest, WindowResult } from '../../consumers/contract/outputs.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { toRecords } from './harness.ts';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');

function window(resultId: string, version: number, extra: Partial<WindowResult> = {}): WindowResult {
  return {
    kind: 'window',
    id: `${resultId}:v${version}`,
    resultId,
    version,
    deviceId: 'd',
    windowStart: new Date(T0).toISOString(),
    windowEnd: new Date(T0 + 60_000).toISOString(),
    received: 6,
    expected: 6,
    completeness: 1,
    firstSeq: 0,
    lastSeq: 5,
    anomalous: 0,
    metrics: {},
    ...extra,
  };
}

describe('readers', () => {
  it('latestVersions keeps the highest version per resultId, whatever the order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 }))),
        (pairs) => {
          const windows = pairs.map(([id, version]) => window(`d:w:${id}`, version));
          const latest = latestVersions(windows);
          for (const [id] of pairs) {
            const oracle = Math.max(...pairs.filter(([other]) => other === id).map(([, v]) => v));
            assert.equal(latest.get(`d:w:${id}`)?.version, oracle);
          }
          assert.equal(latest.size, new Set(pairs.map(([id]) => id)).size);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('parseResultLines keeps windows and anomalies of the asked device, skipping broken lines', () => {
    const lines = [
      `{"dt":"2026-11-23","hour":"12",${JSON.stringify(window('d:w:1', 1)).slice(1)}`,
      '{"dt":"2026-11-23","hour":"12","kind":"anomaly","id":"d:a:3:t","deviceId":"d","seq":3,"resultId":"d:w:1"}',
      '{"kind":"window","deviceId":"other","resultId":"other:w:1","version":1}',
      'not json {"deviceId":"d"',
    ];
    const parsed = parseResultLines(lines, 'd');
    assert.equal(parsed.windows.length, 1);
    assert.equal((parsed.windows[0] as unknown as Record<string, unknown>).dt, undefined);
    assert.deepEqual(
      parsed.anomalies.map((a) => a.seq),
      [3],
    );
  });
});

describe('history seq ranges', () => {
  it('round-trips any set of seqs (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 300 }),
        (seqs, probe) => {
          const sorted = [...seqs].sort((a, b) => a - b);
          const ranges = seqRanges(sorted);
          assert.equal(rangesInclude(ranges, probe), seqs.includes(probe));
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(seqRanges([1, 2, 3, 5, 7, 8]), '1-3,5,7-8');
  });
});

describe('verifier sampling', () => {
  it('always checks flagged first versions, never later versions, and samples about `rate` of the rest', () => {
    assert.equal(selectedForVerification(window('a', 1, { anomalous: 1 }), 0), true);
    assert.equal(selectedForVerification(window('a', 1, { completeness: 0.5 }), 0), true);
    assert.equal(selectedForVerification(window('a', 2, { anomalous: 1 }), 1), false);
    const ids = Array.from({ length: 20_000 }, (_, i) => `dev-${i}:w:${T0}`);
    const chosen = ids.filter((id) => selectedForVerification(window(id, 1), 0.1)).length;
    assert.ok(Math.abs(chosen / ids.length - 0.1) < 0.01, `${chosen} of ${ids.length}`);
    // Deterministic: the answer depends on the id alone, through 32-bit FNV-1a (the published vectors).
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
    // 'dev-1:w:0' hashes to 0x0e1e739b, 0.0552 of the range: inside a 6 % sample, outside a 5 % one.
    assert.equal(selectedForVerification(window('dev-1:w:0', 1), 0.06), true);
    assert.equal(selectedForVerification(window('dev-1:w:0', 1), 0.05), false);
  });
});

describe('queue messages', () => {
  const request: CorrectionRequest = {
    kind: 'correction-request',
    id: 'd:w:0:c:LATE_EVENT',
    reason: 'LATE_EVENT',
    deviceId: 'd',
    targetId: 'd:w:0',
    windowStart: new Date(0).toISOString(),
    seq: 7,
  };

  it('round-trips a request, keyed by id and seq', () => {
    const parsed = parseCorrectionMessage(encodeCorrectionMessage(request, 0));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.request, request);
    assert.equal(requestKey(request), 'd:w:0:c:LATE_EVENT@7');
  });

  it('refuses bodies it cannot act on, with a message', () => {
    for (const body of [
      '',
      'nope',
      '{"v":2}',
      '{"v":1,"eventMs":0,"request":{"kind":"x"}}',
      JSON.stringify({ v: 1, eventMs: 0, request: { ...request, reason: 'BOGUS' } }),
    ]) {
      const parsed = parseCorrectionMessage(body);
      assert.equal(parsed.ok, false, body);
    }
  });

  it('finds a GAP_FILLED request its reading time among the result lines', () => {
    const lines = [
      '{"dt":"2026-11-23","hour":"12","kind":"correction-request","id":"d:m:8:c:GAP_FILLED","reason":"GAP_FILLED","deviceId":"d","targetId":"d:m:8","seq":8}',
      `{"dt":"2026-11-23","hour":"12","kind":"reading","id":"d:r:8","deviceId":"d","seq":8,"ts":"${new Date(T0 + 80_000).toISOString()}"}`,
    ];
    assert.deepEqual(
      requestsFromResultLines(lines).map((q) => q.eventMs),
      [T0 + 80_000],
    );
  });
});

describe('recalculation', () => {
  it('re-derives exactly the windows the stream emitted for in-order data (property)', () => {
    const config = parseFleetConfig();
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 1_000, max: 40_000 }),
            t: fc.double({ min: -20, max: 40, noNaN: true }),
            e: fc.integer({ min: 0, max: 50 }),
          }),
          { minLength: 5, maxLength: 60 },
        ),
        (steps) => {
          let ts = T0;
          let energy = 1000;
          const specs = steps.map((s, seq) => {
            ts += s.gapMs;
            energy += s.e;
            return { deviceId: 'p', seq, tsMs: ts, metrics: { temperatureC: s.t, energyWh: energy } };
          });
          const processor = createRecordProcessor({ config, anomaly: false });
          const records = toRecords(specs);
          const outcome = processor.process(records);
          const results = [...outcome.results, ...processor.flush().results];
          const raw = outcome.archive.map((a) => parseRawLine(a.line.trim()));
          for (const output of results) {
            if (output.kind !== 'window') continue;
            const emitted = JSON.parse(output.line) as WindowResult;
            const { window: derived } = recalculateWindow({
              config,
              deviceId: 'p',
              windowStartMs: Date.parse(emitted.windowStart),
              raw: raw.filter((r) => r !== undefined),
              anomalousSeqs: new Set(),
              anomalousReadings: 'mark',
            });
            assert.ok(derived !== undefined);
            assert.deepEqual(windowDifferences(derived, emitted), [], emitted.resultId);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('feeds each seq once even when the archive holds it twice, and excludes anomalous readings when asked', () => {
    const config = parseFleetConfig();
    const specs = Array.from({ length: 6 }, (_, seq) => ({
      deviceId: 'x',
      seq,
      tsMs: T0 + seq * 10_000,
      metrics: { temperatureC: seq === 3 ? 90 : 20 },
    }));
    const processor = createRecordProcessor({ config, anomaly: false });
    const raw = processor
      .process(toRecords(specs))
      .archive.map((a) => parseRawLine(a.line.trim()))
      .filter((r) => r !== undefined);
    const twice = [...raw, ...raw.map((r) => ({ ...r, arrivalMs: r.arrivalMs + 5 }))];
    const base = { config, deviceId: 'x', windowStartMs: T0, raw: twice, anomalousSeqs: new Set([3]) };
    const marked = recalculateWindow({ ...base, anomalousReadings: 'mark' });
    const excluded = recalculateWindow({ ...base, anomalousReadings: 'exclude' });
    assert.equal(marked.window?.received, 6);
    assert.equal(marked.window?.metrics.temperatureC?.max, 90);
    assert.equal(marked.window?.anomalous, 1);
    assert.equal(excluded.window?.received, 5);
    assert.equal(excluded.window?.metrics.temperatureC?.max, 20);
    assert.deepEqual(excluded.seqs, [0, 1, 2, 4, 5]);
  });
});
