import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { AwsClients } from '../../consumers/aws/clients.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { ensureResources } from '../../local/resources.ts';
import { type EventLine, expectedAccounting, readGroundTruth } from '../../sim/ground-truth.ts';
import { useLocalStack } from '../support/local-stack.ts';

const run = promisify(execFile);

/** The partition key of every record on the stream, from the start; call once delivery has drained. */
async function streamedKeys(clients: Pick<AwsClients, 'kinesis'>, stream: string): Promise<string[]> {
  const keys: string[] = [];
  const { Shards = [] } = await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    // An open shard always has a next iterator; kinesalite answers an empty page only at its end.
    while (iterator !== undefined) {
      const page = await clients.kinesis.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }),
      );
      const records = page.Records ?? [];
      if (records.length === 0) break;
      keys.push(...records.map((r) => r.PartitionKey as string));
      iterator = page.NextShardIterator;
    }
  }
  return keys;
}

const tally = (keys: readonly string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const key of [...keys].sort()) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
};

describe('fleetstream simulate', () => {
  // Nothing here needs injected entry failures (sender.test.ts covers those): the real embedded stack
  // routes the CLI's events through the bus and rule onto the stream.
  const local = useLocalStack();
  let dir: string;
  before(async () => {
    await ensureResources(local.clients, {}, { shardCount: 2 });
    dir = mkdtempSync(join(tmpdir(), 'fleetstream-sim-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends to the given endpoints, writes the ground truth and prints one JSON summary line', async () => {
    const file = join(dir, 'truth.ndjson');
    const { endpoints, region } = local.stack;
    const { stdout, stderr } = await run(process.execPath, [
      'bin/fleetstream.js',
      'simulate',
      ...['--devices', '4', '--rate', 'max', '--readings', '60', '--seed', 'cli', '--region', region],
      ...['--endpoint', endpoints.eventbridge, '--kinesis-endpoint', endpoints.kinesis],
      ...['--ground-truth', file, '--json'],
    ]);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const summary = JSON.parse(lines[0] as string) as {
      delivered: number;
      records: number;
      dropped: number;
      failed: number;
      expected: ReturnType<typeof expectedAccounting>;
    };
    assert.match(stderr, /simulate \d+\/\d+/);
    assert.equal(summary.failed, 0);
    assert.equal(summary.delivered, summary.records - summary.dropped);

    const truth = await readGroundTruth(file);
    assert.equal(truth[0]?.type, 'run');
    assert.equal(truth.at(-1)?.type, 'end');
    const events = truth.filter((l): l is EventLine => l.type === 'event');
    assert.equal(events.length, summary.records);
    assert.ok(truth.some((l) => l.type === 'fault'));
    assert.deepEqual(expectedAccounting(truth), summary.expected);

    // What reached the stream (through the rule, or direct for what EventBridge cannot carry) is what the
    // ground truth says was delivered: as many records, keyed by the same devices.
    const delivered = events.filter((l) => l.delivered);
    assert.equal(delivered.length, summary.delivered);
    assert.ok(summary.expected.sentVia.kinesis > 0, 'some records took the direct route');
    await local.stack.drainEventBridge();
    const keys = await streamedKeys(local.clients, DEFAULT_NAMES.stream);
    assert.equal(keys.length, summary.delivered, 'every delivered record is on the stream, once');
    assert.deepEqual(tally(keys), tally(delivered.map((l) => l.deviceId)));
  });

  it('rejects a bad flag value with exit code 2 and a clear message', async () => {
    await assert.rejects(
      run(process.execPath, ['bin/fleetstream.js', 'simulate', '--faults', 'most']),
      (error) => {
        const e = error as { code: number; stderr: string };
        assert.equal(e.code, 2);
        assert.match(e.stderr, /--faults must be one of/);
        return true;
      },
    );
  });
});
