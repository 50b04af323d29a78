import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hourPrefixes } from '../../anomaly/correction/s3-store.ts';
import {
  DEVICE_PARTS,
  devicePartOf,
  PARTITION_KEY_QUERIES,
  partitionPrefix,
  S3_PREFIXES,
  withoutPartitionFields,
} from '../../consumers/contract/layout.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { record, T0 } from './fixtures.ts';

describe('S3 layout: device parts', () => {
  it('a device part is the first hex digit of the MD5 of the id (RFC 1321 test vectors)', () => {
    // MD5('') = d41d8cd9…, MD5('a') = 0cc175b9…, MD5('abc') = 90015098…, MD5('message digest') = f96b697d…
    assert.equal(devicePartOf(''), 'd');
    assert.equal(devicePartOf('a'), '0');
    assert.equal(devicePartOf('abc'), '9');
    assert.equal(devicePartOf('message digest'), 'f');
    // Cached parts are the same parts.
    assert.equal(devicePartOf('abc'), '9');
  });

  it('spreads a fleet evenly over the parts', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 3200; i++) {
      const part = devicePartOf(`sensor-${i}`);
      counts.set(part, (counts.get(part) ?? 0) + 1);
    }
    assert.equal(counts.size, DEVICE_PARTS);
    // 200 expected per part; a binomial standard deviation is ~14, so 140–260 is over four of them.
    for (const [part, count] of counts) assert.ok(count > 140 && count < 260, `part ${part}: ${count}`);
  });

  it('every prefix the delivery streams write is partitioned by every key the query extracts', () => {
    for (const prefix of [S3_PREFIXES.results, S3_PREFIXES.raw]) {
      for (const key of Object.keys(PARTITION_KEY_QUERIES)) {
        assert.ok(prefix.includes(`${key}=!{partitionKeyFromQuery:${key}}/`), `${prefix} lacks ${key}`);
      }
    }
  });

  it('prefixes narrow an hour to a device part, and a range to the part of each hour', () => {
    const at = Date.UTC(2026, 10, 23, 18, 5);
    const part = devicePartOf('dev-7');
    assert.equal(partitionPrefix('raw', at), 'raw/dt=2026-11-23/hour=18/');
    assert.equal(partitionPrefix('raw', at, 'dev-7'), `raw/dt=2026-11-23/hour=18/part=${part}/`);
    assert.deepEqual(hourPrefixes('results', at, at + 3_600_000, 'dev-7'), [
      `results/dt=2026-11-23/hour=18/part=${part}/`,
      `results/dt=2026-11-23/hour=19/part=${part}/`,
    ]);
    assert.deepEqual(hourPrefixes('results', at, at + 60_000), ['results/dt=2026-11-23/hour=18/']);
  });

  it('every output line carries its device part, and readers drop the partition fields', () => {
    const processor = createRecordProcessor();
    const devices = ['dev-1', 'dev-2', 'dev-3'];
    const records = devices.flatMap((deviceId) =>
      Array.from({ length: 8 }, (_, seq) => record({ deviceId, seq, tsMs: T0 + seq * 20_000 })),
    );
    const batch = processor.process(records);
    const flushed = processor.flush();
    const lines = [...batch.results, ...batch.archive, ...flushed.results];
    const kinds = new Set(lines.map((output) => output.kind));
    assert.ok(kinds.has('reading') && kinds.has('raw') && kinds.has('window'), [...kinds].join());
    for (const output of lines) {
      const parsed = JSON.parse(output.line) as Record<string, unknown>;
      assert.equal(parsed.part, devicePartOf(output.deviceId), output.line);
      assert.equal(parsed.dt, '2026-11-23');
      const stripped = withoutPartitionFields(parsed);
      assert.deepEqual(
        Object.keys(stripped).filter((key) => key === 'dt' || key === 'hour' || key === 'part'),
        [],
      );
      assert.equal(stripped.deviceId, output.deviceId);
    }
  });
});
