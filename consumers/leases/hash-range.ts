/**
 * Kinesis maps a partition key to a shard by the MD5 of the key read as an unsigned 128-bit integer,
 * falling in the shard's [StartingHashKey, EndingHashKey]. After a split, a child restores its parent's
 * state but keeps only the devices (partition key = device id) that now hash into its own range.
 */
import { createHash } from 'node:crypto';

export interface HashKeyRange {
  readonly StartingHashKey?: string;
  readonly EndingHashKey?: string;
}

export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

export function ownsPartitionKey(range: HashKeyRange): (partitionKey: string) => boolean {
  const start = BigInt(range.StartingHashKey ?? '0');
  const end = BigInt(range.EndingHashKey ?? (2n ** 128n - 1n).toString());
  return (partitionKey) => {
    const hash = partitionKeyHash(partitionKey);
    return hash >= start && hash <= end;
  };
}
