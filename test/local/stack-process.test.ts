import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { TELEMETRY_DETAIL_TYPE, TELEMETRY_SOURCE } from '../../consumers/contract/telemetry.ts';
import { startLocalStackProcess } from '../../local/process/stack-process.ts';
import { ensureResources } from '../../local/resources.ts';
import { type LocalStack, localClientsConfig } from '../../local/stack.ts';

async function reachable(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { method: 'POST', signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe('local stack in a child process', () => {
  let stack: LocalStack;
  let clients: AwsClients;
  before(async () => {
    stack = await startLocalStackProcess();
    clients = createAwsClients(localClientsConfig(stack));
  });
  after(async () => {
    clients?.destroy();
    await stack?.stop();
  });

  it('serves the same endpoints the in-process stack does', async () => {
    assert.deepEqual(Object.keys(stack.endpoints).sort(), [
      'dynamodb',
      'eventbridge',
      'firehose',
      'kinesis',
      's3',
      'sqs',
    ]);
    for (const endpoint of Object.values(stack.endpoints)) assert.ok(await reachable(endpoint), endpoint);
  });

  it('flushes buffered Firehose records to S3 on request, across the process boundary', async () => {
    const { names } = await ensureResources(clients, {}, { shardCount: 1, bufferIntervalSeconds: 900 });
    const line = `${JSON.stringify({ kind: 'reading', id: 'dev-1:1', dt: '2026-11-23', hour: '22', part: '0' })}\n`;
    const put = await clients.firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: names.resultsDeliveryStream,
        Records: [{ Data: Buffer.from(line) }],
      }),
    );
    assert.equal(put.FailedPutCount, 0);
    const listed = async () =>
      (await clients.s3.send(new ListObjectsV2Command({ Bucket: names.bucket, Prefix: 'results/' })))
        .KeyCount;
    // A 900 s buffer: nothing is in S3 until the flush.
    assert.equal(await listed(), 0);
    assert.ok((await stack.flushFirehose()) >= 1);
    assert.equal(await listed(), 1);
  });

  it('drains EventBridge and reports its delivery counters across the process boundary', async () => {
    // The bus and rule exist (ensureResources above); two telemetry events route to the stream.
    const before = await stack.eventBridgeStats();
    const entry = (seq: number) => ({
      EventBusName: DEFAULT_NAMES.bus,
      Source: TELEMETRY_SOURCE,
      DetailType: TELEMETRY_DETAIL_TYPE,
      Detail: JSON.stringify({ deviceId: 'dev-ipc', seq }),
    });
    const put = await clients.eventbridge.send(new PutEventsCommand({ Entries: [entry(1), entry(2)] }));
    assert.equal(put.FailedEntryCount, 0);
    await stack.drainEventBridge();
    const after = await stack.eventBridgeStats();
    assert.equal(after.delivered - before.delivered, 2);
    assert.equal(after.deadLettered + after.lost, before.deadLettered + before.lost);
  });

  it('goes away with its parent: SIGKILL the parent and the children exit', async () => {
    const script = [
      "import { startLocalStackProcess } from './local/process/stack-process.ts';",
      'const stack = await startLocalStackProcess();',
      "process.stdout.write(JSON.stringify({ endpoints: stack.endpoints, pids: stack.pids }) + '\\n');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [firstLine] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
    const { endpoints, pids } = JSON.parse(firstLine) as {
      endpoints: Record<string, string>;
      pids: number[];
    };
    assert.equal(pids.length, 2);
    assert.ok(await reachable(endpoints.kinesis as string));
    parent.kill('SIGKILL');
    // Judged by the processes, not by the ports: other tests' servers may be given a freed port at once.
    // An exited child can stay in the process table as a zombie until PID 1 reaps it, which here takes
    // seconds; it no longer runs, so it counts as gone.
    const alive = (pid: number): boolean => {
      try {
        const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
        return state !== 'Z' && state !== 'X';
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        // No /proc (not Linux): whether the pid exists at all.
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      }
    };
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(pids.filter(alive), [], 'no child outlives its parent');
  });

  it('stops its servers and exits (Kinesis beside the others here); a second stop is a no-op', async () => {
    const own = await startLocalStackProcess({ separateKinesis: false });
    assert.ok(await reachable(own.endpoints.kinesis));
    await own.stop();
    await own.stop();
    for (const endpoint of Object.values(own.endpoints)) assert.equal(await reachable(endpoint), false);
    await assert.rejects(own.eventBridgeStats(), /exited/);
  });
});
