/**
 * Batch training from the raw archive: every accepted event, verbatim, as NDJSON under `raw/` in S3
 * (one line per event: `{…, "deviceId", "seq", "event": {<EventBridge envelope>}}`, see
 * consumers/processor/encode.ts). Lines are grouped per device and ordered by `seq` (the device's own
 * order; S3 listing order is not event order), each device's series is shingled on its own, and the forest
 * learns the shingles device by device. A device's shingle never spans two devices.
 *
 * Lines that cannot be used are counted by reason, never dropped silently.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { S3_PREFIXES } from '../../consumers/contract/layout.ts';
import { RandomCutForest } from '../rcf/forest.ts';
import type { ForestParams } from '../rcf/params.ts';
import { shingleSeries } from '../rcf/shingle.ts';

export interface ArchiveTrainingOptions {
  /** Created at start-up and injected. */
  readonly s3: S3Client;
  readonly bucket: string;
  /**
   * Key prefix of the raw archive; narrow it (e.g. `raw/dt=2026-11-01/`) to train on a period.
   * @default 'raw/'
   */
  readonly prefix?: string;
  /**
   * Metrics forming one record, in this order (feature_dim = their number). A reading missing any of them
   * is skipped (counted as `missing_metric`).
   * @default ['temperatureC']
   */
  readonly metrics?: readonly string[];
  /**
   * Forest parameters; feature_dim is set from `metrics`.
   * @default shingle_size 8, the rest as RandomCutForest's defaults, time_decay 0 (a uniform sample of the
   * whole archive, as SageMaker's batch training draws)
   */
  readonly params?: Partial<Omit<ForestParams, 'feature_dim'>>;
  /**
   * Stop listing after this many objects (a bound on a training run's cost).
   * @default Infinity
   */
  readonly maxObjects?: number;
}

export type SkipReason = 'invalid_json' | 'not_raw_event' | 'missing_metric' | 'duplicate_seq';

export interface TrainingReport {
  readonly objects: number;
  readonly lines: number;
  readonly devices: number;
  /** Readings that became part of a device series. */
  readonly readings: number;
  /** Shingles the forest learned. */
  readonly points: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
}

interface Reading {
  readonly seq: number;
  readonly values: number[];
}

async function* archiveLines(
  s3: S3Client,
  bucket: string,
  prefix: string,
  maxObjects: number,
  counts: { objects: number },
) {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      if (counts.objects >= maxObjects) return;
      counts.objects++;
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const text = (await got.Body?.transformToString('utf8')) ?? '';
      for (const line of text.split('\n')) if (line.trim() !== '') yield line;
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** Reads the archive into per-device series of metric records, ordered by seq. */
export async function readArchiveSeries(
  options: ArchiveTrainingOptions,
): Promise<{ series: Map<string, Reading[]>; report: Omit<TrainingReport, 'points'> }> {
  const metrics = options.metrics ?? ['temperatureC'];
  if (metrics.length === 0) throw new ConfigError('at least one metric is needed to train on');
  const skipped: Record<SkipReason, number> = {
    invalid_json: 0,
    not_raw_event: 0,
    missing_metric: 0,
    duplicate_seq: 0,
  };
  const counts = { objects: 0 };
  const byDevice = new Map<string, Map<number, Reading>>();
  let lines = 0;
  const prefix = options.prefix ?? S3_PREFIXES.raw.slice(0, S3_PREFIXES.raw.indexOf('/') + 1);
  for await (const line of archiveLines(
    options.s3,
    options.bucket,
    prefix,
    options.maxObjects ?? Infinity,
    counts,
  )) {
    lines++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      skipped.invalid_json++;
      continue;
    }
    const entry = parsed as {
      kind?: unknown;
      deviceId?: unknown;
      seq?: unknown;
      event?: { detail?: { metrics?: unknown } };
    };
    const readingMetrics = entry.event?.detail?.metrics as Record<string, unknown> | undefined;
    if (
      entry.kind !== 'raw' ||
      typeof entry.deviceId !== 'string' ||
      !Number.isSafeInteger(entry.seq) ||
      typeof readingMetrics !== 'object' ||
      readingMetrics === null
    ) {
      skipped.not_raw_event++;
      continue;
    }
    const values = metrics.map((m) => readingMetrics[m]);
    if (!values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) {
      skipped.missing_metric++;
      continue;
    }
    let device = byDevice.get(entry.deviceId);
    if (device === undefined) {
      device = new Map();
      byDevice.set(entry.deviceId, device);
    }
    const seq = entry.seq as number;
    // The archive is at-least-once (Firehose retries, replays): keep the first copy of each reading.
    if (device.has(seq)) {
      skipped.duplicate_seq++;
      continue;
    }
    device.set(seq, { seq, values });
  }
  const series = new Map<string, Reading[]>();
  let readings = 0;
  for (const [deviceId, bySeq] of [...byDevice].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    readings += ordered.length;
    series.set(deviceId, ordered);
  }
  return { series, report: { objects: counts.objects, lines, devices: series.size, readings, skipped } };
}

/** Trains a forest on the archive. Devices are learned in id order, so a run is reproducible. */
export async function trainFromArchive(
  options: ArchiveTrainingOptions,
): Promise<{ forest: RandomCutForest; report: TrainingReport }> {
  const metrics = options.metrics ?? ['temperatureC'];
  const forest = new RandomCutForest({
    shingle_size: 8,
    time_decay: 0,
    ...options.params,
    feature_dim: metrics.length,
  });
  const { series, report } = await readArchiveSeries(options);
  let points = 0;
  for (const readings of series.values()) {
    const shingles = shingleSeries(
      readings.map((reading) => reading.values),
      metrics.length,
      forest.params.shingle_size,
    );
    // A device's points in order, learned tree by tree: the forest `update` makes, faster (bench:models).
    forest.updateAll(shingles);
    points += shingles.length;
  }
  return { forest, report: { ...report, points } };
}
