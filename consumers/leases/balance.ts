/**
 * Which leases a worker should take this round. Pure: the coordinator feeds it the table and what it
 * observed, so the rules (fair share, parent before child, one steal at a time) are tested without I/O.
 */
import { type Lease, SHARD_END } from './lease.ts';

export interface TakePlan {
  /** Free or expired leases to take. */
  readonly take: Lease[];
  /** A lease held by an overloaded worker, to steal (at most one per round, as KCL does). */
  readonly steal: Lease | undefined;
  /** This worker's fair share this round. */
  readonly target: number;
}

export interface PlanInput {
  readonly leases: readonly Lease[];
  readonly workerId: string;
  /** Lease keys whose counter has not moved for a lease duration on this worker's clock. */
  readonly expired: ReadonlySet<string>;
  /** @default Infinity */
  readonly maxLeasesPerWorker?: number;
}

/** A child may start only when every parent still in the table has reached SHARD_END. */
export function parentsFinished(lease: Lease, byKey: ReadonlyMap<string, Lease>): boolean {
  return lease.parentShardIds.every((parentId) => {
    const parent = byKey.get(parentId);
    return parent === undefined || parent.checkpoint === SHARD_END;
  });
}

export function planTakes(input: PlanInput): TakePlan {
  const byKey = new Map(input.leases.map((lease) => [lease.leaseKey, lease]));
  const workable = input.leases.filter(
    (lease) => lease.checkpoint !== SHARD_END && parentsFinished(lease, byKey),
  );
  const isFree = (lease: Lease) => lease.leaseOwner === undefined || input.expired.has(lease.leaseKey);

  const heldBy = new Map<string, Lease[]>();
  for (const lease of workable) {
    if (isFree(lease)) continue;
    const owner = lease.leaseOwner as string;
    heldBy.set(owner, [...(heldBy.get(owner) ?? []), lease]);
  }
  const mine = heldBy.get(input.workerId)?.length ?? 0;
  const workers = new Set([...heldBy.keys(), input.workerId]).size;
  const target = Math.min(
    Math.ceil(workable.length / workers),
    input.maxLeasesPerWorker ?? Number.POSITIVE_INFINITY,
  );
  const wanted = target - mine;
  if (wanted <= 0) return { take: [], steal: undefined, target };

  const free = workable.filter(isFree).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
  if (free.length > 0) return { take: free.slice(0, wanted), steal: undefined, target };

  let mostLoaded: Lease[] = [];
  for (const [owner, held] of heldBy) {
    if (owner !== input.workerId && held.length > mostLoaded.length) mostLoaded = held;
  }
  // Steal only from a worker above the fair share, so two workers never trade a lease back and forth.
  if (mostLoaded.length <= target) return { take: [], steal: undefined, target };
  const steal = [...mostLoaded].sort((a, b) => a.leaseKey.localeCompare(b.leaseKey))[0];
  return { take: [], steal, target };
}
