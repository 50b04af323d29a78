import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { planTakes } from '../../consumers/leases/balance.ts';
import { ownsPartitionKey, partitionKeyHash } from '../../consumers/leases/hash-range.ts';
import { type Lease, SHARD_END } from '../../consumers/leases/lease.ts';
import { LeaseTable } from '../../consumers/leases/lease-table.ts';
import { createS3SnapshotStore } from '../../consumers/leases/snapshot-store.ts';
import { HeldLease, LeaseLostError } from '../../consumers/runtimes/held-lease.ts';
import { ensureBucket } from '../../local/resources.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';

function lease(key: string, owner: string | undefined, extra: Partial<Lease> = {}): Lease {
  return {
    leaseKey: key,
    leaseOwner: owner,
    leaseCounter: 1,
    checkpoint: 'TRIM_HORIZON',
    parentShardIds: [],
    ownerSwitchesSinceCheckpoint: 0,
    snapshot: undefined,
    ...extra,
  };
}

describe('planTakes (balancing rules)', () => {
  it('takes free leases up to the fair share, then steals one from a worker above it', () => {
    const leases = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', undefined)];
    const first = planTakes({ leases, workerId: 'b', expired: new Set() });
    assert.deepEqual(
      first.take.map((l) => l.leaseKey),
      ['s3'],
    );
    const afterTake = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', 'b')];
    const second = planTakes({ leases: afterTake, workerId: 'b', expired: new Set() });
    assert.equal(second.steal?.leaseKey, 's0');
    const balanced = [lease('s0', 'b'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', 'b')];
    assert.equal(planTakes({ leases: balanced, workerId: 'b', expired: new Set() }).steal, undefined);
    assert.equal(planTakes({ leases: balanced, workerId: 'a', expired: new Set() }).steal, undefined);
  });

  it('treats expired leases as free and dead owners as gone', () => {
    const leases = [lease('s0', 'dead'), lease('s1', 'dead'), lease('s2', 'a')];
    const plan = planTakes({ leases, workerId: 'a', expired: new Set(['s0', 's1']) });
    assert.deepEqual(
      plan.take.map((l) => l.leaseKey),
      ['s0', 's1'],
    );
  });

  it('never offers a child before all its parents reached SHARD_END', () => {
    const parentOpen = [
      lease('p', 'a', { checkpoint: '123' }),
      lease('c1', undefined, { parentShardIds: ['p'] }),
    ];
    assert.deepEqual(planTakes({ leases: parentOpen, workerId: 'b', expired: new Set() }).take, []);
    const parentDone = [
      lease('p', 'a', { checkpoint: SHARD_END }),
      lease('c1', undefined, { parentShardIds: ['p'] }),
    ];
    assert.deepEqual(
      planTakes({ leases: parentDone, workerId: 'b', expired: new Set() }).take.map((l) => l.leaseKey),
      ['c1'],
    );
    const merge = [
      lease('p1', 'a', { checkpoint: SHARD_END }),
      lease('p2', 'a', { checkpoint: '9' }),
      lease('m', undefined, { parentShardIds: ['p1', 'p2'] }),
    ];
    assert.ok(
      !planTakes({ leases: merge, workerId: 'b', expired: new Set() }).take.some((l) => l.leaseKey === 'm'),
    );
  });

  it('property: rounds of take/steal converge to loads that differ by at most one and every lease is held', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 6 }), (shards, workers) => {
        let table = Array.from({ length: shards }, (_, i) => lease(`s${i}`, undefined));
        const ids = Array.from({ length: workers }, (_, i) => `w${i}`);
        for (let round = 0; round < shards * workers + 5; round++) {
          for (const id of ids) {
            const plan = planTakes({ leases: table, workerId: id, expired: new Set() });
            const moved = new Set([...plan.take, ...(plan.steal ? [plan.steal] : [])].map((l) => l.leaseKey));
            table = table.map((l) => (moved.has(l.leaseKey) ? { ...l, leaseOwner: id } : l));
          }
        }
        const loads = ids.map((id) => table.filter((l) => l.leaseOwner === id).length);
        assert.ok(
          table.every((l) => l.leaseOwner !== undefined),
          'every lease held',
        );
        assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads}`);
      }),
      { numRuns: 100 },
    );
  });
});

describe('hash ranges', () => {
  it('hashes a key as Kinesis does: MD5 of its UTF-8 bytes, read as a big-endian unsigned 128-bit number', () => {
    // RFC 1321's test vectors.
    assert.equal(partitionKeyHash(''), 0xd41d8cd98f00b204e9800998ecf8427en);
    assert.equal(partitionKeyHash('a'), 0x0cc175b9c0f1b6a831c399e269772661n);
    assert.equal(partitionKeyHash('abc'), 0x900150983cd24fb0d6963f7d28e17f72n);
  });

  it('assigns every key to exactly one half after a split at the midpoint', () => {
    const mid = 2n ** 127n;
    const low = ownsPartitionKey({ StartingHashKey: '0', EndingHashKey: (mid - 1n).toString() });
    const high = ownsPartitionKey({
      StartingHashKey: mid.toString(),
      EndingHashKey: (2n ** 128n - 1n).toString(),
    });
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (key) => {
        assert.notEqual(low(key), high(key));
        // The digest's top bit decides the half.
        assert.equal(high(key), createHash('md5').update(key, 'utf8').digest()[0]! >= 0x80);
      }),
      { numRuns: 300 },
    );
  });
});

describe('lease table on dynalite', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  let table: LeaseTable;

  before(async () => {
    stack = await startLocalStack();
    clients = createAwsClients(localClientsConfig(stack));
    table = new LeaseTable(clients.dynamodb, 'leases-fencing');
    await table.ensureTable();
    await table.ensureTable(); // idempotent
  });
  after(async () => {
    clients.destroy();
    await stack.stop();
  });

  it('creates leases once, even when two syncs race', async () => {
    const results = await Promise.all([
      table.createLeaseIfAbsent({ leaseKey: 'shard-x', checkpoint: 'TRIM_HORIZON', parentShardIds: [] }),
      table.createLeaseIfAbsent({ leaseKey: 'shard-x', checkpoint: 'LATEST', parentShardIds: [] }),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal((await table.getLease('shard-x'))?.leaseCounter, 0);
  });

  it('fencing: a worker whose lease was taken can neither checkpoint nor renew', async () => {
    await table.createLeaseIfAbsent({
      leaseKey: 'shard-f',
      checkpoint: 'TRIM_HORIZON',
      parentShardIds: ['p0'],
    });
    const free = (await table.getLease('shard-f'))!;
    const takenByA = await table.takeLease(free, 'worker-a');
    assert.ok(takenByA);
    const a = new HeldLease(table, takenByA);
    await a.checkpoint('100', undefined);
    assert.ok(await a.renew());

    // B sees the lease (say, expired from its point of view) and takes it, fenced on the counter it read.
    const seenByB = (await table.getLease('shard-f'))!;
    const takenByB = await table.takeLease(seenByB, 'worker-b');
    assert.ok(takenByB);
    assert.equal(takenByB.ownerSwitchesSinceCheckpoint, 1);

    await assert.rejects(a.checkpoint('200', undefined), LeaseLostError);
    assert.equal(a.isLost, true);
    assert.equal(await a.renew(), false);
    const stored = (await table.getLease('shard-f'))!;
    assert.equal(stored.checkpoint, '100', 'the fenced checkpoint did not land');
    assert.equal(stored.leaseOwner, 'worker-b');

    // A stale take (counter from before B's take) loses too.
    assert.equal(await table.takeLease(seenByB, 'worker-c'), undefined);

    const b = new HeldLease(table, takenByB);
    await b.checkpoint('300', { kind: 'inline', bytes: new Uint8Array([1, 2, 3]) });
    const afterB = (await table.getLease('shard-f'))!;
    assert.equal(afterB.checkpoint, '300');
    assert.equal(afterB.ownerSwitchesSinceCheckpoint, 0);
    assert.deepEqual([...((afterB.snapshot as { bytes: Uint8Array }).bytes ?? [])], [1, 2, 3]);
    assert.deepEqual(afterB.parentShardIds, ['p0']);

    await b.release();
    assert.equal((await table.getLease('shard-f'))?.leaseOwner, undefined);
  });

  it('stores a large snapshot in S3 and the pointer with the checkpoint; a tampered object is refused', async () => {
    await ensureBucket(clients, 'state-bucket');
    const store = createS3SnapshotStore({
      client: clients.s3,
      bucket: 'state-bucket',
      streamName: 'st',
      inlineMaxBytes: 16,
    });
    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    const ref = await store.save('shardId-000000000001', '4242', bytes);
    assert.equal(ref.kind, 's3');
    assert.equal(ref.kind === 's3' && ref.key, 'state/st/shardId-000000000001/4242.bin');
    await table.createLeaseIfAbsent({ leaseKey: 'shard-s', checkpoint: 'TRIM_HORIZON', parentShardIds: [] });
    const held = new HeldLease(table, (await table.takeLease((await table.getLease('shard-s'))!, 'w'))!);
    await held.checkpoint('4242', ref);
    const stored = (await table.getLease('shard-s'))!;
    assert.deepEqual(stored.snapshot, ref);
    assert.deepEqual(await store.load(stored.snapshot!), bytes);
    assert.deepEqual(await store.loadAt('shardId-000000000001', '4242'), bytes);
    assert.equal(await store.loadAt('shardId-000000000001', '1'), undefined);
    if (ref.kind === 's3') {
      await assert.rejects(store.load({ ...ref, sha256: '0'.repeat(64) }), { code: 'SNAPSHOT_INVALID' });
    }
  });
});
