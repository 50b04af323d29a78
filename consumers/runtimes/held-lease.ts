/**
 * A lease this worker holds. Renewal (coordinator loop) and checkpoint (shard loop) both write the
 * item fenced on the counter; they are serialised here so they never fence each other out, and the
 * first failed condition marks the lease lost for good and aborts the shard's loop.
 */
import { FleetstreamError } from '../contract/errors.ts';
import type { Checkpoint, Lease, SnapshotRef } from '../leases/lease.ts';
import type { LeaseTable } from '../leases/lease-table.ts';

export class LeaseLostError extends FleetstreamError {
  constructor(shardId: string) {
    super('LEASE_LOST', `lease for ${shardId} was taken by another worker or expired`);
  }
}

export class HeldLease {
  readonly #table: LeaseTable;
  #lease: Lease;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #lost = new AbortController();

  constructor(table: LeaseTable, lease: Lease) {
    this.#table = table;
    this.#lease = lease;
  }

  get shardId(): string {
    return this.#lease.leaseKey;
  }

  get current(): Lease {
    return this.#lease;
  }

  /** Aborts when the lease is lost; the shard loop stops fetching and never checkpoints again. */
  get lostSignal(): AbortSignal {
    return this.#lost.signal;
  }

  get isLost(): boolean {
    return this.#lost.signal.aborted;
  }

  markLost(): void {
    this.#lost.abort(new LeaseLostError(this.shardId));
  }

  /** False when the lease turned out to be lost. */
  async renew(): Promise<boolean> {
    return this.#serialised(async () => {
      const next = await this.#table.renewLease(this.#lease);
      return this.#accept(next);
    });
  }

  /** Throws LeaseLostError when fenced out. */
  async checkpoint(checkpoint: Checkpoint, snapshot: SnapshotRef | undefined): Promise<void> {
    const ok = await this.#serialised(async () => {
      const next = await this.#table.updateCheckpoint(this.#lease, checkpoint, snapshot);
      return this.#accept(next);
    });
    if (!ok) throw new LeaseLostError(this.shardId);
  }

  /** Hands the lease back so another worker takes it at once. */
  async release(): Promise<void> {
    await this.#serialised(async () => {
      const next = await this.#table.evictLease(this.#lease);
      this.#accept(next);
      this.markLost();
      return true;
    });
  }

  #accept(next: Lease | undefined): boolean {
    if (next === undefined) {
      this.markLost();
      return false;
    }
    this.#lease = next;
    return true;
  }

  #serialised<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.isLost) return false as T;
      return operation();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
