import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3_PREFIXES } from '../../consumers/contract/layout.ts';
import {
  extractPartitionKeys,
  formatTimestamp,
  objectName,
  parseExtractionQuery,
  partitionKeysInPrefix,
  renderPrefix,
} from '../../local/firehose/partitioning.ts';

describe('Firehose partitioning (pure)', () => {
  it('parses the MetadataExtractionQuery subset and refuses the rest', () => {
    assert.deepEqual(parseExtractionQuery('{dt:.dt,hour:.hour}'), { dt: ['dt'], hour: ['hour'] });
    assert.deepEqual(parseExtractionQuery('{ device : .detail.deviceId }'), {
      device: ['detail', 'deviceId'],
    });
    for (const unsupported of ['.dt', '{}', '{dt:.dt | ascii_downcase}', '{dt:.items[0]}', '{dt:dt}']) {
      assert.equal(typeof parseExtractionQuery(unsupported), 'string', unsupported);
    }
  });

  it('extracts scalar keys and explains why a record cannot be partitioned', () => {
    const query = { dt: ['dt'], device: ['detail', 'deviceId'] };
    assert.deepEqual(
      extractPartitionKeys(Buffer.from('{"dt":"2026-01-01","detail":{"deviceId":7}}'), query),
      {
        dt: '2026-01-01',
        device: '7',
      },
    );
    assert.match(String(extractPartitionKeys(Buffer.from('not json'), query)), /not valid JSON/);
    assert.match(String(extractPartitionKeys(Buffer.from('{"dt":"x"}'), query)), /device/);
    assert.match(
      String(extractPartitionKeys(Buffer.from('{"dt":{"a":1},"detail":{"deviceId":"d"}}'), query)),
      /dt/,
    );
    assert.match(
      String(extractPartitionKeys(Buffer.from('{"dt":"","detail":{"deviceId":"d"}}'), query)),
      /dt/,
    );
  });

  it('renders the contract prefixes', () => {
    const arrivalMs = Date.UTC(2026, 0, 2, 3, 4, 5);
    assert.equal(
      renderPrefix(S3_PREFIXES.results, {
        arrivalMs,
        partitionKeys: { dt: '2026-01-01', hour: '23', part: 'a' },
      }),
      'results/dt=2026-01-01/hour=23/part=a/',
    );
    assert.equal(
      renderPrefix(S3_PREFIXES.errors, { arrivalMs, errorOutputType: 'partitioning-failed' }),
      'errors/partitioning-failed/2026-01-02/',
    );
    assert.throws(() => renderPrefix(S3_PREFIXES.raw, { arrivalMs, partitionKeys: { dt: 'x' } }));
    assert.deepEqual(partitionKeysInPrefix(S3_PREFIXES.raw), ['dt', 'hour', 'part']);
    assert.equal(formatTimestamp('yyyy/MM/dd/HH', arrivalMs), '2026/01/02/03');
    assert.equal(objectName('results', 1, arrivalMs, 'abc'), 'results-1-2026-01-02-03-04-05-abc');
  });
});
