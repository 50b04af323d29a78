import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { RandomCutForest } from '../../models/rcf/forest.ts';
import { serializeForest } from '../../models/rcf/serialize.ts';
import { Shingle } from '../../models/rcf/shingle.ts';
import { readArchiveSeries, trainFromArchive } from '../../models/training/archive.ts';

const bucket = 'fleetstream-data';

/** One archive line as the record processor writes it (consumers/processor/encode.ts). */
function rawLine(deviceId: string, seq: number, temperatureC: number | undefined): string {
  const metrics = temperatureC === undefined ? { humidityPct: 40 } : { temperatureC, humidityPct: 40 };
  const event = {
    'detail-type': 'Telemetry',
    source: 'iot.fleet',
    detail: { deviceId, seq, ts: new Date(1_700_000_000_000 + seq * 60_000).toISOString(), metrics },
  };
  return JSON.stringify({
    dt: '2023-11-14',
    hour: '22',
    kind: 'raw',
    id: `${deviceId}:r:${seq}`,
    deviceId,
    seq,
    arrivalMs: 0,
    sequenceNumber: '1',
    event,
  });
}

const temperature = (device: number, seq: number) => 20 + device + Math.sin(seq / 5);

describe('training from the raw archive in S3 (s3rver, real S3 client)', () => {
  let dir: string;
  let server: S3rver;
  let s3: S3Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetstream-s3-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
    const { port } = await server.run();
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // Two devices, their readings split over objects out of order, with a Firehose-style duplicate,
    // a reading without the metric, a broken line and a non-raw object.
    const lines = (device: number, seqs: number[]) =>
      seqs.map((seq) => rawLine(`dev-${device}`, seq, temperature(device, seq)));
    const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put(
      'raw/dt=2023-11-14/hour=22/b',
      [...lines(1, [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]), ...lines(2, [0, 1, 2, 3, 4])].join('\n'),
    );
    await put(
      'raw/dt=2023-11-14/hour=21/a',
      [
        ...lines(1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),
        ...lines(1, [5]),
      ].join('\n'),
    );
    await put(
      'raw/dt=2023-11-14/hour=23/c',
      [rawLine('dev-2', 5, undefined), '{not json', JSON.stringify({ kind: 'reading' }), ''].join('\n'),
    );
    await put('results/dt=2023-11-14/hour=22/x', rawLine('dev-9', 0, 99));
  });
  after(async () => {
    s3.destroy();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('groups readings per device in seq order and counts every line it cannot use', async () => {
    const { series, report } = await readArchiveSeries({ s3, bucket });
    assert.equal(report.objects, 3, 'only objects under raw/');
    assert.deepEqual(report.skipped, {
      invalid_json: 1,
      not_raw_event: 1,
      missing_metric: 1,
      duplicate_seq: 1,
    });
    assert.equal(report.lines, 30 + 1 + 5 + 3);
    assert.deepEqual([...series.keys()], ['dev-1', 'dev-2']);
    assert.deepEqual(
      series.get('dev-1')!.map((r) => r.seq),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.deepEqual(
      series.get('dev-2')!.map((r) => r.values),
      [0, 1, 2, 3, 4].map((seq) => [temperature(2, seq)]),
    );
  });

  it('trains the same forest as learning each device series in memory', async () => {
    const params = { num_trees: 10, num_samples_per_tree: 32, shingle_size: 4, seed: 5 };
    const { forest, report } = await trainFromArchive({ s3, bucket, params });
    const expected = new RandomCutForest({ ...params, time_decay: 0, feature_dim: 1 });
    for (const [device, count] of [
      [1, 30],
      [2, 5],
    ] as const) {
      const shingle = new Shingle(1, 4);
      for (let seq = 0; seq < count; seq++) {
        const point = shingle.push([temperature(device, seq)]);
        if (point !== undefined) expected.update(point);
      }
    }
    assert.equal(report.points, 27 + 2);
    assert.equal(serializeForest(forest), serializeForest(expected));
  });
});
