import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
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
    const line = `${JSON.stringify({ kind: 'reading', id: 'dev-1:1', dt: '2026-11-23', hour: '22' })}\n`;
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

  it('reports EventBridge delivery counters and drains', async () => {
    await stack.drainEventBridge();
    const stats = await stack.eventBridgeStats();
    assert.deepEqual(Object.keys(stats).sort(), ['deadLettered', 'delivered', 'lost', 'retried']);
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
