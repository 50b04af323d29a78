import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_SUB_RECORDS, splitSubRecords } from '../../local/firehose/deaggregation.ts';

const texts = (parts: Buffer[] | string) =>
  typeof parts === 'string' ? parts : parts.map((p) => p.toString());

describe('Firehose stand-in: RecordDeAggregation', () => {
  it('splits JSON lines and back-to-back objects, braces and quotes inside strings included', () => {
    const a = '{"id":"a","note":"a } and a \\" and {"}';
    const b = '{"id":"b","nested":{"x":[1,{"y":2}]}}';
    assert.deepEqual(texts(splitSubRecords(Buffer.from(`${a}\n${b}\n`), { type: 'JSON' })), [a, b]);
    assert.deepEqual(texts(splitSubRecords(Buffer.from(`${a}${b}`), { type: 'JSON' })), [a, b]);
  });

  it('refuses what is not a run of JSON objects', () => {
    assert.match(splitSubRecords(Buffer.from('{"a":1} 42'), { type: 'JSON' }) as string, /not a JSON object/);
    assert.match(splitSubRecords(Buffer.from('{"a":"}'), { type: 'JSON' }) as string, /ends inside/);
  });

  it('splits on a delimiter', () => {
    const parts = splitSubRecords(Buffer.from('x||y||z'), { type: 'DELIMITED', delimiter: '||' });
    assert.deepEqual(texts(parts), ['x', 'y', 'z']);
  });

  it(`caps a record at ${MAX_SUB_RECORDS} sub-records, as Firehose does`, () => {
    const lines = (n: number) => Buffer.from('{"a":1}\n'.repeat(n));
    assert.equal(
      (splitSubRecords(lines(MAX_SUB_RECORDS), { type: 'JSON' }) as Buffer[]).length,
      MAX_SUB_RECORDS,
    );
    assert.match(splitSubRecords(lines(MAX_SUB_RECORDS + 1), { type: 'JSON' }) as string, /capped at 500/);
  });

  it('gives back exactly the objects that were joined (any JSON values, any whitespace between)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 20 }),
        fc.constantFrom('', '\n', ' \r\n\t'),
        (objects, gap) => {
          const lines = objects.map((o) => JSON.stringify(o));
          const parts = splitSubRecords(Buffer.from(lines.join(gap)), { type: 'JSON' });
          assert.deepEqual(texts(parts), lines);
        },
      ),
      { numRuns: 300 },
    );
  });
});
