/**
 * Lease sync: every shard of the stream gets a lease, created idempotently (conditional put), with its
 * parents recorded so the child waits for them. Children always start at TRIM_HORIZON: their first
 * record follows the parent's last one, and starting anywhere else would skip records.
 */
import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import type { InitialPosition } from './lease.ts';
import type { LeaseTable } from './lease-table.ts';

export async function listAllShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    // ListShards forbids StreamName together with NextToken.
    const page = await kinesis.send(
      new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }),
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

export function parentsOf(shard: Shard): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
}

/** Creates the missing leases; returns how many were created by this call. */
export async function syncShardLeases(
  kinesis: KinesisClient,
  streamName: string,
  table: LeaseTable,
  initialPosition: InitialPosition,
  knownLeaseKeys: ReadonlySet<string>,
): Promise<number> {
  const shards = await listAllShards(kinesis, streamName);
  const shardIds = new Set(shards.map((shard) => shard.ShardId));
  let created = 0;
  for (const shard of shards) {
    const shardId = shard.ShardId;
    if (shardId === undefined || knownLeaseKeys.has(shardId)) continue;
    const parents = parentsOf(shard);
    // A parent trimmed out of the stream no longer blocks its child.
    const liveParents = parents.filter((id) => shardIds.has(id) || knownLeaseKeys.has(id));
    const checkpoint = liveParents.length > 0 ? 'TRIM_HORIZON' : initialPosition;
    if (await table.createLeaseIfAbsent({ leaseKey: shardId, checkpoint, parentShardIds: liveParents }))
      created++;
  }
  return created;
}
