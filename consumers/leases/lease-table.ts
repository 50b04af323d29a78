/**
 * The lease table over DynamoDB. Every mutation is conditional on the lease counter the caller last
 * saw (the fencing token) and increments it; a failed condition returns `undefined`, meaning "someone
 * else moved this lease": the caller has lost it (or lost a race to take it) and must stop.
 */
import {
  type AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Checkpoint, Lease, SnapshotRef } from './lease.ts';

type Item = Record<string, AttributeValue>;

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function snapshotFromItem(item: Item): SnapshotRef | undefined {
  const inline = item.snapshotInline?.B;
  if (inline !== undefined) return { kind: 'inline', bytes: inline };
  const key = item.snapshotKey?.S;
  if (key === undefined) return undefined;
  return { kind: 's3', key, sha256: item.snapshotSha256?.S ?? '', size: Number(item.snapshotSize?.N ?? '0') };
}

export function leaseFromItem(item: Item): Lease {
  return {
    leaseKey: item.leaseKey?.S ?? '',
    leaseOwner: item.leaseOwner?.S,
    leaseCounter: Number(item.leaseCounter?.N ?? '0'),
    checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
    parentShardIds: item.parentShardId?.SS ?? [],
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? '0'),
    snapshot: snapshotFromItem(item),
  };
}

export interface NewLease {
  readonly leaseKey: string;
  readonly checkpoint: Checkpoint;
  readonly parentShardIds: readonly string[];
}

export class LeaseTable {
  readonly #client: DynamoDBClient;
  readonly tableName: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.tableName = tableName;
  }

  /** Creates the table when missing (KCL does the same) and waits until it is ACTIVE. Idempotent. */
  async ensureTable(timeoutMs = 60_000): Promise<void> {
    try {
      await this.#client.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const description = await this.#client.send(new DescribeTableCommand({ TableName: this.tableName }));
      if (description.Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline)
        throw new Error(`lease table ${this.tableName} not ACTIVE after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Every lease, read consistently (a stale read would hide a fresh take and cause a needless steal). */
  async listLeases(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.#client.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) leases.push(leaseFromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return leases;
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    const response = await this.#client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: { S: leaseKey } },
        ConsistentRead: true,
      }),
    );
    return response.Item === undefined ? undefined : leaseFromItem(response.Item);
  }

  /** Creates a free lease unless one exists. Returns false when it already existed (concurrent sync). */
  async createLeaseIfAbsent(lease: NewLease): Promise<boolean> {
    const item: Item = {
      leaseKey: { S: lease.leaseKey },
      leaseCounter: { N: '0' },
      checkpoint: { S: lease.checkpoint },
      ownerSwitchesSinceCheckpoint: { N: '0' },
    };
    if (lease.parentShardIds.length > 0) item.parentShardId = { SS: [...lease.parentShardIds] };
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(leaseKey)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Takes a free, expired or stolen lease, fenced on the counter we observed. */
  async takeLease(lease: Lease, owner: string): Promise<Lease | undefined> {
    const switched = lease.leaseOwner !== owner;
    return this.#update(
      lease,
      'SET leaseOwner = :owner, leaseCounter = :next, ownerSwitchesSinceCheckpoint = :switches',
      {
        ':owner': { S: owner },
        ':switches': { N: String(lease.ownerSwitchesSinceCheckpoint + (switched ? 1 : 0)) },
      },
      'leaseCounter = :expected',
      {
        ...lease,
        leaseOwner: owner,
        ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint + (switched ? 1 : 0),
      },
    );
  }

  /** Heartbeat: proves the holder is alive by moving the counter. */
  async renewLease(lease: Lease): Promise<Lease | undefined> {
    return this.#update(
      lease,
      'SET leaseCounter = :next',
      {},
      'leaseCounter = :expected AND leaseOwner = :owner',
      lease,
    );
  }

  /**
   * Moves the checkpoint and the snapshot pointer together in one conditional write: either both
   * advance under our lease, or neither does.
   */
  async updateCheckpoint(
    lease: Lease,
    checkpoint: Checkpoint,
    snapshot: SnapshotRef | undefined,
  ): Promise<Lease | undefined> {
    const values: Item = { ':checkpoint': { S: checkpoint }, ':zero': { N: '0' } };
    let set = 'SET leaseCounter = :next, checkpoint = :checkpoint, ownerSwitchesSinceCheckpoint = :zero';
    let remove: string;
    if (snapshot === undefined) {
      remove = ' REMOVE snapshotInline, snapshotKey, snapshotSha256, snapshotSize';
    } else if (snapshot.kind === 'inline') {
      set += ', snapshotInline = :inline';
      values[':inline'] = { B: snapshot.bytes };
      remove = ' REMOVE snapshotKey, snapshotSha256, snapshotSize';
    } else {
      set += ', snapshotKey = :key, snapshotSha256 = :sha, snapshotSize = :size';
      values[':key'] = { S: snapshot.key };
      values[':sha'] = { S: snapshot.sha256 };
      values[':size'] = { N: String(snapshot.size) };
      remove = ' REMOVE snapshotInline';
    }
    return this.#update(lease, set + remove, values, 'leaseCounter = :expected AND leaseOwner = :owner', {
      ...lease,
      checkpoint,
      ownerSwitchesSinceCheckpoint: 0,
      snapshot,
    });
  }

  /** Gives a lease back (graceful shutdown) so another worker takes it at once instead of after expiry. */
  async evictLease(lease: Lease): Promise<Lease | undefined> {
    return this.#update(
      lease,
      'SET leaseCounter = :next REMOVE leaseOwner',
      {},
      'leaseCounter = :expected AND leaseOwner = :owner',
      {
        ...lease,
        leaseOwner: undefined,
      },
    );
  }

  async #update(
    lease: Lease,
    updateExpression: string,
    values: Item,
    condition: string,
    next: Lease,
  ): Promise<Lease | undefined> {
    const expressionValues: Item = {
      ...values,
      ':next': { N: String(lease.leaseCounter + 1) },
      ':expected': { N: String(lease.leaseCounter) },
    };
    if (condition.includes(':owner') && expressionValues[':owner'] === undefined) {
      expressionValues[':owner'] = { S: lease.leaseOwner ?? '' };
    }
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: lease.leaseKey } },
          UpdateExpression: updateExpression,
          ConditionExpression: condition,
          ExpressionAttributeValues: expressionValues,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
    return { ...next, leaseCounter: lease.leaseCounter + 1 };
  }
}
