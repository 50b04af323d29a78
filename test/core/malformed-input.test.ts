/**
 * The record processor on hostile input (fast-check): arbitrary bytes and strings, and valid telemetry
 * envelopes with corrupted fields, mixed with good records. Every record is accounted for, and every
 * rejection carries a reason code from reasons.ts, a message and the record's original bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseFleetConfig } from '../../consumers/config.ts';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import { ALL_REJECT_REASONS } from '../../consumers/contract/reasons.ts';
import { mergeOutcomes } from '../../consumers/processor/outcome.ts';
import { createRecordProcessor, rejectUnreadable } from '../../consumers/processor/record-processor.ts';
import { envelope, rawRecord, T0 } from './fixtures.ts';

const RUNS = 500;
const config = parseFleetConfig();

/** A JSON value of any shape, including the awkward ones (huge numbers, deep nesting, odd strings). */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    2 ** 53 + 1,
    -0,
    '',
    '\u0000',
    'NaN',
    '2026-13-45T99:99:99Z',
    [],
    {},
  ),
);

/** Paths into a telemetry envelope that a corruption may replace or delete. */
const FIELDS = [
  ['source'],
  ['detail-type'],
  ['detail'],
  ['detail', 'deviceId'],
  ['detail', 'seq'],
  ['detail', 'ts'],
  ['detail', 'firmware'],
  ['detail', 'metrics'],
  ['detail', 'metrics', 'temperatureC'],
  ['detail', 'metrics', 'energyWh'],
  ['detail', 'metrics', 'not a metric name!'],
] as const;

const corruption = fc.record({
  path: fc.constantFrom(...FIELDS),
  value: fc.option(anyJson, { nil: undefined }), // undefined deletes the field
});

function corrupt(event: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let target = event;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== 'object' || next === null) return;
    target = next as Record<string, unknown>;
  }
  const last = path.at(-1) as string;
  if (value === undefined) delete target[last];
  else target[last] = structuredClone(value);
}

/** A good envelope, corrupted in a few places, serialised (sometimes truncated or padded). */
const corruptedEnvelope = fc
  .record({
    seq: fc.nat({ max: 1000 }),
    skewMs: fc.integer({ min: -10_000, max: 10_000 }),
    corruptions: fc.array(corruption, { minLength: 1, maxLength: 3 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    pad: fc.constantFrom('', ' ', '\n', '\uFEFF'),
  })
  .map(({ seq, skewMs, corruptions, cut, pad }) => {
    const event = envelope({ deviceId: 'dev-c', seq, tsMs: T0 + seq * 1000 + skewMs });
    for (const { path, value } of corruptions) corrupt(event, path, value);
    const text = JSON.stringify(event);
    return rawRecord(
      pad + (cut === undefined ? text : text.slice(0, cut % (text.length + 1))),
      T0 + seq * 1000 + 100,
      'dev-c',
    );
  });

const goodRecord = fc
  .nat({ max: 1000 })
  .map((seq) =>
    rawRecord(
      JSON.stringify(envelope({ deviceId: 'dev-g', seq, tsMs: T0 + seq * 1000 })),
      T0 + seq * 1000 + 100,
      'dev-g',
    ),
  );

const anyRecord = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => rawRecord(bytes)),
  fc.string({ maxLength: 64 }).map((text) => rawRecord(text)),
  fc.string({ unit: 'binary', maxLength: 64 }).map((text) => rawRecord(text)),
  fc.constant(rawRecord(new Uint8Array(config.maxRecordBytes + 1).fill(0x20))),
  corruptedEnvelope,
  goodRecord,
);

function assertAccounted(records: readonly StreamRecord[], batches: number): void {
  const processor = createRecordProcessor({ config });
  const size = Math.max(1, Math.ceil(records.length / batches));
  for (let i = 0; i < records.length; i += size) {
    const batch = records.slice(i, i + size);
    const outcome = processor.process(batch);
    const { counts } = outcome;
    assert.equal(counts.in, batch.length);
    assert.equal(counts.in, counts.accepted + counts.rejected + counts.duplicates);
    assert.equal(outcome.rejections.length, counts.rejected);
    assert.equal(outcome.archive.length, counts.accepted);
    assert.equal(outcome.results.filter((r) => r.kind === 'reading').length, counts.accepted);
    const byId = new Map(batch.map((r) => [`${r.shardId}:${r.sequenceNumber}`, r]));
    for (const rejection of outcome.rejections) {
      assert.ok(ALL_REJECT_REASONS.includes(rejection.reason), `unknown reason ${rejection.reason}`);
      assert.ok(rejection.message.length > 0, 'a rejection says why');
      const original = byId.get(rejection.id);
      assert.ok(original, `rejection ${rejection.id} names its record`);
      assert.deepEqual(Buffer.from(rejection.rawBase64, 'base64'), Buffer.from(original.data));
    }
    // Every archived line is JSON: the raw archive is read back line by line.
    for (const line of outcome.archive) JSON.parse(line.line);
  }
}

describe('record processor on malformed input', () => {
  it('never throws and accounts for every record, each rejection with a known reason and its bytes', () => {
    fc.assert(
      fc.property(
        fc.array(anyRecord, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (records, batches) => {
          assertAccounted(records, batches);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('corrupted envelopes are accounted for, each rejection with a known reason and its bytes', () => {
    fc.assert(
      fc.property(fc.array(corruptedEnvelope, { minLength: 1, maxLength: 20 }), (records) => {
        assertAccounted(records, 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('records a runtime could not read keep the accounting when merged with the processed batch', () => {
    fc.assert(
      fc.property(
        fc.array(anyRecord, { maxLength: 20 }),
        fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
        (records, broken) => {
          const processed = createRecordProcessor({ config }).process(records);
          const unreadable = rejectUnreadable(
            broken.map((data, i) => ({
              id: `shard:broken-${i}`,
              reason: 'MALFORMED_ENVELOPE' as const,
              message: 'broken record envelope: data is not base64',
              raw: Buffer.from(data),
              arrivalMs: 0,
            })),
          );
          const { counts, rejections } = mergeOutcomes([processed, unreadable]);
          assert.equal(counts.in, records.length + broken.length);
          assert.equal(counts.in, counts.accepted + counts.rejected + counts.duplicates);
          assert.equal(rejections.length, counts.rejected);
          for (const r of rejections) assert.ok(ALL_REJECT_REASONS.includes(r.reason));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
