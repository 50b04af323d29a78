/**
 * Reads back what Firehose delivered to S3 under a prefix: object count, every output line, tallied by
 * kind. The run's accounting is built from this (what actually landed), not from what the workers
 * believe they sent.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Detection } from '../sim/score.ts';

export interface ResultsInventory {
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: number;
  /** Output lines read, re-deliveries included. */
  readonly lines: number;
  /** Distinct output ids per kind (`reading`, `window`, `missing`, `anomaly`, `correction-request`). */
  readonly byKind: Readonly<Record<string, number>>;
  /** Every distinct output id. */
  readonly ids: ReadonlySet<string>;
  /** Readings reported missing: the sum of `count` over distinct missing records. */
  readonly missingReadings: number;
  /** Readings with at least one anomaly record. */
  readonly detections: readonly Detection[];
}

interface OutputLine {
  readonly id?: unknown;
  readonly kind?: unknown;
  readonly count?: unknown;
  readonly deviceId?: unknown;
  readonly seq?: unknown;
}

export async function readResults(s3: S3Client, bucket: string, prefix: string): Promise<ResultsInventory> {
  const ids = new Set<string>();
  const byKind: Record<string, number> = {};
  const detected = new Map<string, Detection>();
  let objects = 0;
  let lines = 0;
  let missingReadings = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const { Key: key } of page.Contents ?? []) {
      if (key === undefined) continue;
      objects++;
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
      // Firehose writes GZIP objects without Content-Encoding; the magic bytes say which it is.
      const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
      for (const raw of text.split('\n')) {
        if (raw === '') continue;
        lines++;
        const line = JSON.parse(raw) as OutputLine;
        if (typeof line.id !== 'string' || ids.has(line.id)) continue;
        ids.add(line.id);
        const kind = typeof line.kind === 'string' ? line.kind : 'unknown';
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        if (kind === 'missing' && typeof line.count === 'number') missingReadings += line.count;
        if (kind === 'anomaly' && typeof line.deviceId === 'string' && typeof line.seq === 'number') {
          detected.set(`${line.deviceId}:${line.seq}`, { deviceId: line.deviceId, seq: line.seq });
        }
      }
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return { bucket, prefix, objects, lines, byKind, ids, missingReadings, detections: [...detected.values()] };
}
