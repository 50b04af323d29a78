/**
 * A lease as KCL keeps it: one item per shard in a DynamoDB table. `leaseCounter` is the fencing token:
 * every renewal, take and checkpoint is a conditional write on the counter the writer last saw, and
 * bumps it, so a worker whose lease was taken cannot write again. Owners detect expiry by watching the
 * counter stop moving on their own clock, never by comparing clocks across machines.
 */

/** Where a shard without a sequence-number checkpoint starts. */
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** A Kinesis sequence number, or one of KCL's sentinels. `SHARD_END`: the shard is closed and fully processed. */
export type Checkpoint = InitialPosition | 'SHARD_END' | string;

export const SHARD_END = 'SHARD_END';

export function isSequenceNumber(checkpoint: Checkpoint): boolean {
  return /^\d+$/.test(checkpoint);
}

/** Where the per-device state that goes with the checkpoint lives. */
export type SnapshotRef =
  | { readonly kind: 'inline'; readonly bytes: Uint8Array }
  | { readonly kind: 's3'; readonly key: string; readonly sha256: string; readonly size: number };

export interface Lease {
  /** The shard id. */
  readonly leaseKey: string;
  /** Worker id of the holder; undefined when free. */
  readonly leaseOwner: string | undefined;
  readonly leaseCounter: number;
  readonly checkpoint: Checkpoint;
  /** The shard's parents after a split or merge; the lease is taken only after they reach SHARD_END. */
  readonly parentShardIds: readonly string[];
  /** Owner changes since the last checkpoint: a lease that keeps moving without progress is a poison sign. */
  readonly ownerSwitchesSinceCheckpoint: number;
  readonly snapshot: SnapshotRef | undefined;
}
