/**
 * Reads and writes the NDJSON objects of the data bucket(s). Firehose writes GZIP objects without a
 * Content-Encoding header, so the reader looks at the bytes (gzip magic 1f 8b, RFC 1952) rather than the
 * metadata. Objects are immutable once delivered, so parsed objects are cached by key and ETag.
 *
 * Locally one bucket holds `results/`, `raw/` and `failures/`; the CDK stack gives each its own bucket
 * (separate lifecycles and grants). A key's first path segment picks its bucket, so callers keep using
 * the same keys and prefixes either way.
 */
import { gunzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { FleetstreamError } from '../../consumers/contract/errors.ts';
import { partitionPrefix } from '../../consumers/contract/layout.ts';

const HOUR_MS = 3_600_000;
/** Longest range read by hour partitions: 31 days. */
const MAX_RANGE_HOURS = 31 * 24;

export interface StoredObject {
  readonly key: string;
  readonly etag: string;
  readonly lastModifiedMs: number;
  readonly size: number;
}

/** Buckets of the data classes, when they are not all in `bucket`. */
export interface StoreBuckets {
  /** `results/…`: versions read, corrected versions written. @default the store's `bucket` */
  readonly results?: string;
  /** `raw/…`: the raw archive, read to recalculate. @default the store's `bucket` */
  readonly raw?: string;
  /** `failures/…`: failure storage. @default the store's `bucket` */
  readonly failures?: string;
}

export interface S3StoreOptions {
  readonly s3: S3Client;
  /** Every key whose data class has no bucket of its own in `buckets` (all of them locally). */
  readonly bucket: string;
  /** @default {} — everything in `bucket` */
  readonly buckets?: StoreBuckets;
  /** Parsed objects kept in memory (least recently used goes first). @default 256 */
  readonly cacheObjects?: number;
}

/** Key roots that may live in a bucket of their own. */
const ROOTS = ['results', 'raw', 'failures'] as const;

/** What a store has fetched from S3 so far: what a correction costs in reads. */
export interface FetchCounts {
  objects: number;
  /** Bytes as stored (compressed). */
  bytes: number;
}

export class S3Store {
  readonly bucket: string;
  /** Objects and bytes fetched (cache hits excluded), for metrics and the corrections benchmark. */
  readonly fetched: FetchCounts = { objects: 0, bytes: 0 };
  /** Bucket per key root, every root resolved (to `bucket` when it has none of its own). */
  readonly buckets: Readonly<Record<(typeof ROOTS)[number], string>>;
  private readonly s3: S3Client;
  private readonly cache = new Map<string, readonly string[]>();
  private readonly cacheObjects: number;

  constructor(options: S3StoreOptions) {
    this.s3 = options.s3;
    this.bucket = options.bucket;
    this.buckets = {
      results: options.buckets?.results ?? options.bucket,
      raw: options.buckets?.raw ?? options.bucket,
      failures: options.buckets?.failures ?? options.bucket,
    };
    this.cacheObjects = options.cacheObjects ?? 256;
  }

  /** The bucket holding `keyOrPrefix`: by its first path segment, else the default bucket. */
  bucketOf(keyOrPrefix: string): string {
    const slash = keyOrPrefix.indexOf('/');
    // A bare root ('raw') names the same data class as 'raw/'.
    const root = slash === -1 ? keyOrPrefix : keyOrPrefix.slice(0, slash);
    return (ROOTS as readonly string[]).includes(root)
      ? this.buckets[root as (typeof ROOTS)[number]]
      : this.bucket;
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucketOf(prefix),
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        objects.push({
          key: o.Key,
          etag: o.ETag ?? '',
          lastModifiedMs: o.LastModified?.getTime() ?? 0,
          size: o.Size ?? 0,
        });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return objects;
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketOf(key), Key: key }));
    const bytes = await response.Body!.transformToByteArray();
    this.fetched.objects++;
    this.fetched.bytes += bytes.byteLength;
    return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  }

  /** The object's non-empty lines. */
  async lines(object: StoredObject): Promise<readonly string[]> {
    const cacheKey = `${object.key}\u0000${object.etag}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) {
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, cached);
      return cached;
    }
    const text = Buffer.from(await this.getBytes(object.key)).toString('utf8');
    const lines = text.split('\n').filter((line) => line.length > 0);
    this.cache.set(cacheKey, lines);
    if (this.cache.size > this.cacheObjects) this.cache.delete(this.cache.keys().next().value as string);
    return lines;
  }

  async put(key: string, body: string, contentType = 'application/json'): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketOf(key),
        Key: key,
        Body: body,
        ContentType: contentType,
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucketOf(key), Key: key }));
  }

  /**
   * Lines of every object under the hour partitions `${root}/dt=…/hour=…/` covering [fromMs, toMs): all
   * devices' lines, or with `deviceId` only the device's part of each hour (other devices share it).
   */
  async partitionLines(
    root: 'raw' | 'results',
    fromMs: number,
    toMs: number,
    deviceId?: string,
  ): Promise<string[]> {
    const lines: string[] = [];
    for (const prefix of hourPrefixes(root, fromMs, toMs, deviceId)) {
      for (const object of await this.list(prefix)) lines.push(...(await this.lines(object)));
    }
    return lines;
  }
}

/** `${root}/dt=YYYY-MM-DD/hour=HH/` (and `part=…/` of `deviceId`) for each UTC hour [fromMs, toMs) touches. */
export function hourPrefixes(root: string, fromMs: number, toMs: number, deviceId?: string): string[] {
  // One prefix per hour: a range of years would be millions of LIST calls; refuse it instead.
  if (!(toMs - fromMs <= MAX_RANGE_HOURS * HOUR_MS))
    throw new FleetstreamError(
      'RANGE_TOO_LARGE',
      `partition range of ${root}/ spans more than ${MAX_RANGE_HOURS} hours`,
    );
  const prefixes: string[] = [];
  for (let hour = Math.floor(fromMs / HOUR_MS); hour * HOUR_MS < toMs; hour++) {
    prefixes.push(partitionPrefix(root, hour * HOUR_MS, deviceId));
  }
  return prefixes;
}
