/**
 * Where things land in S3. Firehose's dynamic partitioning reads `dt`, `hour` and `part` from each JSON
 * line (the encoder writes them), so results are queryable by Athena with partition projection.
 *
 * `part` splits each hour by device: a recalculation of one device's window reads the device's part of
 * the hour, not every device's lines (at fleet scale an hour of the raw archive is gigabytes).
 */
import { createHash } from 'node:crypto';

/** Firehose `partitionKeyFromQuery` expressions (jq) for the results and raw delivery streams. */
export const PARTITION_KEY_QUERIES = { dt: '.dt', hour: '.hour', part: '.part' } as const;

/** The fields the encoder adds to every output line for partitioning; readers drop them. */
export type PartitionFields = { readonly [K in keyof typeof PARTITION_KEY_QUERIES]: string };

/** Firehose S3 prefixes; `!{…}` are Firehose's own namespaces, evaluated per record batch. */
export const S3_PREFIXES = {
  results:
    'results/dt=!{partitionKeyFromQuery:dt}/hour=!{partitionKeyFromQuery:hour}/part=!{partitionKeyFromQuery:part}/',
  raw: 'raw/dt=!{partitionKeyFromQuery:dt}/hour=!{partitionKeyFromQuery:hour}/part=!{partitionKeyFromQuery:part}/',
  /** Firehose writes records it could not partition or deliver here, by error type. */
  errors: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/',
  /** Items a person must look at (the DLQ processor's last stop). */
  failures: 'failures/',
} as const;

/**
 * Device parts per hour: one hex digit. Firehose writes an object per partition per buffer flush, so more
 * parts mean smaller objects for Athena; sixteen keeps them large while a device's read shrinks 16×.
 * Part of the S3 layout: changing it moves where every device's lines are found.
 */
export const DEVICE_PARTS = 16;

/** `dt=YYYY-MM-DD` and `hour=HH` (UTC) for an instant. */
export function partitionOf(epochMs: number): { dt: string; hour: string } {
  const iso = new Date(epochMs).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Parts of recently seen devices: an MD5 per output line would cost more than the line's encoding. */
const partCache = new Map<string, string>();
const PART_CACHE_ENTRIES = 65_536;
/** The first byte of the digest, shifted down to one of DEVICE_PARTS. */
const PART_SHIFT = 8 - Math.log2(DEVICE_PARTS);

/**
 * The device's part, `0`–`f`: the first hex digit of the MD5 of the id's UTF-8 bytes, as Kinesis hashes
 * partition keys. Athena computes the same, so a query for one device can name its part:
 * `part = substr(to_hex(md5(to_utf8(deviceid))), 1, 1)` (lower-cased).
 */
export function devicePartOf(deviceId: string): string {
  let part = partCache.get(deviceId);
  if (part === undefined) {
    if (partCache.size >= PART_CACHE_ENTRIES) partCache.clear();
    const digest = createHash('md5').update(deviceId, 'utf8').digest();
    part = (digest[0]! >>> PART_SHIFT).toString(16);
    partCache.set(deviceId, part);
  }
  return part;
}

/** `${root}/dt=…/hour=…/` for an hour, narrowed to `part=…/` of one device when given. */
export function partitionPrefix(root: string, epochMs: number, deviceId?: string): string {
  const { dt, hour } = partitionOf(epochMs);
  const hourPrefix = `${root}/dt=${dt}/hour=${hour}/`;
  return deviceId === undefined ? hourPrefix : `${hourPrefix}part=${devicePartOf(deviceId)}/`;
}

/** An output line's object without the partition fields the encoder added. */
export function withoutPartitionFields<T extends object>(line: T): Omit<T, keyof PartitionFields> {
  const { dt: _dt, hour: _hour, part: _part, ...rest } = line as T & Partial<PartitionFields>;
  return rest;
}
