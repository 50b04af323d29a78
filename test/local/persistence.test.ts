import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand as PutFirehoseRecordCommand } from '@aws-sdk/client-firehose';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { ensureResources } from '../../local/resources.ts';
import { localClientsConfig, startLocalStack } from '../../local/stack.ts';

/**
 * kinesalite and dynalite persist through LevelDB, whose bindings ship as prebuilt N-API binaries. Where
 * they cannot load, startLocalStack refuses dataDir with a ConfigError, so this test has nothing to run.
 */
function levelDbUnavailable(): string | false {
  const require = createRequire(import.meta.url);
  try {
    require('leveldown');
    require('classic-level');
    return false;
  } catch (error) {
    return `LevelDB bindings unavailable: ${(error as Error).message}`;
  }
}

describe('local stack with dataDir: a restart resumes', { skip: levelDbUnavailable() }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-persist-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps Kinesis records, DynamoDB items, S3 objects, SQS messages and buffered Firehose records', async () => {
    const first = await startLocalStack({ dataDir });
    const before = createAwsClients(localClientsConfig(first));
    let sequenceNumber: string | undefined;
    let shardId: string | undefined;
    try {
      await ensureResources(before, {}, { shardCount: 1 });
      const put = await before.kinesis.send(
        new PutRecordCommand({
          StreamName: DEFAULT_NAMES.stream,
          PartitionKey: 'dev-1',
          Data: Buffer.from('kept'),
        }),
      );
      sequenceNumber = put.SequenceNumber;
      shardId = put.ShardId;
      await before.dynamodb.send(
        new PutItemCommand({
          TableName: DEFAULT_NAMES.leaseTable,
          Item: { leaseKey: { S: shardId! }, checkpoint: { S: sequenceNumber! } },
        }),
      );
      await before.s3.send(
        new PutObjectCommand({ Bucket: DEFAULT_NAMES.bucket, Key: 'kept.txt', Body: 'kept' }),
      );
      const { dlqUrl } = await ensureResources(before, {}, { shardCount: 1 });
      await before.sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'kept' }));
      await before.firehose.send(
        new PutFirehoseRecordCommand({
          DeliveryStreamName: DEFAULT_NAMES.resultsDeliveryStream,
          Record: { Data: Buffer.from('{"id":"kept","dt":"2026-01-01","hour":"00","part":"0"}\n') },
        }),
      );
    } finally {
      before.destroy();
      await first.stop();
    }

    const second = await startLocalStack({ dataDir });
    const afterRestart = createAwsClients(localClientsConfig(second));
    try {
      const resources = await ensureResources(afterRestart, {}, { shardCount: 1 });
      const { ShardIterator } = await afterRestart.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: DEFAULT_NAMES.stream,
          ShardId: shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          StartingSequenceNumber: sequenceNumber,
        }),
      );
      const { Records } = await afterRestart.kinesis.send(new GetRecordsCommand({ ShardIterator }));
      assert.equal(Buffer.from(Records![0]!.Data!).toString(), 'kept');
      const { Item } = await afterRestart.dynamodb.send(
        new GetItemCommand({ TableName: DEFAULT_NAMES.leaseTable, Key: { leaseKey: { S: shardId! } } }),
      );
      assert.equal(Item?.checkpoint?.S, sequenceNumber);
      const object = await afterRestart.s3.send(
        new GetObjectCommand({ Bucket: DEFAULT_NAMES.bucket, Key: 'kept.txt' }),
      );
      assert.equal(await object.Body?.transformToString(), 'kept');
      const { Messages } = await afterRestart.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: resources.dlqUrl }),
      );
      assert.equal(Messages?.[0]?.Body, 'kept');
      // The record was still buffered at the stop; it is delivered after the restart.
      await second.standIns.firehose.flush();
      const { Contents } = await afterRestart.s3.send(
        new ListObjectsV2Command({ Bucket: DEFAULT_NAMES.bucket, Prefix: 'results/dt=2026-01-01/hour=00/' }),
      );
      assert.equal(Contents?.length, 1);
      const delivered = await afterRestart.s3.send(
        new GetObjectCommand({ Bucket: DEFAULT_NAMES.bucket, Key: Contents![0]!.Key }),
      );
      const body = gunzipSync(Buffer.from(await delivered.Body!.transformToByteArray())).toString();
      assert.equal(JSON.parse(body).id, 'kept');
    } finally {
      afterRestart.destroy();
      await second.stop();
    }
  });
});
