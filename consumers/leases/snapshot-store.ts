/**
 * Storage for per-device state snapshots. The object is written BEFORE the checkpoint that points at it,
 * and the pointer travels in the same conditional write as the checkpoint, so a lease never points at a
 * snapshot that does not exist and a fenced writer's snapshot is simply never referenced.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SnapshotError } from '../contract/errors.ts';
import type { SnapshotRef } from './lease.ts';

export interface SnapshotStore {
  /** Stores a snapshot for a shard at a checkpoint and returns the pointer to keep in the lease. */
  save(shardId: string, checkpoint: string, bytes: Uint8Array): Promise<SnapshotRef>;
  /** Loads what `save` stored; verifies integrity. */
  load(ref: SnapshotRef): Promise<Uint8Array>;
}

export interface S3SnapshotStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Names the stream in keys: `state/<stream>/<shardId>/<checkpoint>.bin`. */
  readonly streamName: string;
  /**
   * Snapshots up to this size stay inline in the lease item. DynamoDB items are limited to 400 KB, and
   * every renewal rewrites nothing but small attributes, so the inline bound is kept small.
   * @default 16384 (bytes)
   */
  readonly inlineMaxBytes?: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function snapshotKey(streamName: string, shardId: string, checkpoint: string): string {
  return `state/${streamName}/${shardId}/${checkpoint}.bin`;
}

/** Also loads by position, for runtimes whose checkpoint store cannot hold a pointer (the KCL daemon's). */
export interface S3SnapshotStore extends SnapshotStore {
  /** The snapshot saved for this shard at this checkpoint, or undefined when there is none. */
  loadAt(shardId: string, checkpoint: string): Promise<Uint8Array | undefined>;
}

export function createS3SnapshotStore(options: S3SnapshotStoreOptions): S3SnapshotStore {
  const inlineMaxBytes = options.inlineMaxBytes ?? 16 * 1024;
  return {
    async save(shardId, checkpoint, bytes) {
      if (bytes.byteLength <= inlineMaxBytes) return { kind: 'inline', bytes };
      // Keyed by checkpoint: a worker replaying the same records after a takeover produces the same
      // state for the same checkpoint (deterministic core), so an overwrite writes identical bytes.
      const key = snapshotKey(options.streamName, shardId, checkpoint);
      const sha256 = sha256Hex(bytes);
      await options.client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: key,
          Body: bytes,
          ContentType: 'application/octet-stream',
          Metadata: { sha256 },
        }),
      );
      return { kind: 's3', key, sha256, size: bytes.byteLength };
    },
    async load(ref) {
      if (ref.kind === 'inline') return ref.bytes;
      const response = await options.client.send(
        new GetObjectCommand({ Bucket: options.bucket, Key: ref.key }),
      );
      if (response.Body === undefined) throw new SnapshotError(`snapshot ${ref.key} has no body`);
      const bytes = await response.Body.transformToByteArray();
      if (bytes.byteLength !== ref.size || sha256Hex(bytes) !== ref.sha256) {
        throw new SnapshotError(`snapshot ${ref.key} does not match its checksum`);
      }
      return bytes;
    },
    async loadAt(shardId, checkpoint) {
      const key = snapshotKey(options.streamName, shardId, checkpoint);
      let response: GetObjectCommandOutput;
      try {
        response = await options.client.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
      } catch (error) {
        if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound'))
          return undefined;
        throw error;
      }
      const bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
      const expected = response.Metadata?.sha256;
      if (expected !== undefined && sha256Hex(bytes) !== expected) {
        throw new SnapshotError(`snapshot ${key} does not match its checksum`);
      }
      return bytes;
    },
  };
}
