/**
 * Reads shards as fast as Kinesis serves them and does nothing with the records: the ceiling any
 * consumer of the same data can reach, and the count a replay runs up to.
 */

import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { FleetstreamError } from '../consumers/contract/errors.ts';

/** Where a read starts: the oldest record kept, or the first record at or after an instant (epoch ms). */
export type ReadPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestampMs: number };

const ITERATOR_TIMEOUT_MS = 10_000;

export interface ShardScan {
  readonly shardId: string;
  readonly records: number;
  readonly bytes: number;
  readonly calls: number;
}

export interface StreamScan {
  readonly shards: readonly ShardScan[];
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/**
 * Reads one shard from `position` to its tip: until a closed shard ends (no next iterator) or an open
 * one answers an empty page with MillisBehindLatest 0 (Kinesis can answer empty pages mid-stream, but
 * then it says how far behind the tip the iterator is).
 */
export async function scanShard(
  kinesis: KinesisClient,
  streamName: string,
  shardId: string,
  position: ReadPosition,
  limit = 10_000,
): Promise<ShardScan> {
  let first: string | undefined;
  try {
    ({ ShardIterator: first } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shardId,
        ShardIteratorType: position.type,
        ...(position.type === 'AT_TIMESTAMP' ? { Timestamp: new Date(position.timestampMs) } : {}),
      }),
      // kinesalite never answers an AT_TIMESTAMP request when no record arrived at or after the instant.
      { abortSignal: AbortSignal.timeout(ITERATOR_TIMEOUT_MS) },
    ));
  } catch (error) {
    if ((error as Error).name !== 'AbortError' && (error as Error).name !== 'TimeoutError') throw error;
    throw new FleetstreamError(
      'ITERATOR_TIMEOUT',
      `GetShardIterator ${position.type} on ${shardId} did not answer within ${ITERATOR_TIMEOUT_MS} ms` +
        (position.type === 'AT_TIMESTAMP'
          ? ' (the embedded Kinesis does not answer when nothing arrived at or after the instant)'
          : ''),
      { retryable: false, cause: error },
    );
  }
  let iterator = first;
  let records = 0;
  let bytes = 0;
  let calls = 0;
  while (iterator !== undefined && iterator !== null) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
    calls++;
    const got = page.Records ?? [];
    records += got.length;
    for (const record of got) bytes += record.Data?.byteLength ?? 0;
    iterator = page.NextShardIterator;
    if (got.length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
  }
  return { shardId, records, bytes, calls };
}

/** Every listed shard at once, as a consumer with one worker per shard reads them. */
export async function scanStream(
  kinesis: KinesisClient,
  streamName: string,
  shardIds: readonly string[],
  position: ReadPosition,
  limit = 10_000,
): Promise<StreamScan> {
  const started = performance.now();
  const shards = await Promise.all(shardIds.map((id) => scanShard(kinesis, streamName, id, position, limit)));
  const seconds = (performance.now() - started) / 1000;
  const records = shards.reduce((sum, shard) => sum + shard.records, 0);
  return {
    shards,
    records,
    bytes: shards.reduce((sum, shard) => sum + shard.bytes, 0),
    seconds,
    recordsPerSecond: seconds > 0 ? records / seconds : 0,
  };
}
