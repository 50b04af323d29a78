import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { ensureBucket, ensureStream, ensureTable, LEASE_TABLE_HASH_KEY } from '../../local/resources.ts';
import { localClientsConfig } from '../../local/stack.ts';
import { useLocalStack } from '../support/local-stack.ts';

/** Raw HTTP, to check what the SDK never sends: the stand-ins answer like AWS, never crash. */
async function call(endpoint: string, headers: Record<string, string>, body: string) {
  const response = await fetch(endpoint, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as { __type?: string; message?: string } };
}

describe('local stack: kinesalite, dynalite, s3rver and the stand-ins over HTTP', () => {
  const local = useLocalStack();

  it('serves every endpoint on an ephemeral 127.0.0.1 port', () => {
    const urls = Object.values(local.stack.endpoints);
    assert.equal(new Set(urls).size, urls.length);
    for (const url of urls) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('puts and gets a Kinesis record on the shard its partition key hashes to', async () => {
    await ensureStream(local.clients, 'stack-test', 1);
    // Creating twice is a no-op, not an error.
    await ensureStream(local.clients, 'stack-test', 1);
    const put = await local.clients.kinesis.send(
      new PutRecordCommand({ StreamName: 'stack-test', PartitionKey: 'dev-1', Data: Buffer.from('hello') }),
    );
    const { ShardIterator } = await local.clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: 'stack-test',
        ShardId: put.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await local.clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    assert.equal(Records?.length, 1);
    assert.equal(Buffer.from(Records![0]!.Data!).toString(), 'hello');
    assert.equal(Records![0]!.PartitionKey, 'dev-1');
    assert.equal(Records![0]!.SequenceNumber, put.SequenceNumber);
  });

  it('puts and gets a DynamoDB item', async () => {
    await ensureTable(local.clients, 'stack-leases', LEASE_TABLE_HASH_KEY);
    await ensureTable(local.clients, 'stack-leases', LEASE_TABLE_HASH_KEY);
    await local.clients.dynamodb.send(
      new PutItemCommand({
        TableName: 'stack-leases',
        Item: { leaseKey: { S: 'shardId-000000000000' }, leaseCounter: { N: '7' } },
      }),
    );
    const { Item } = await local.clients.dynamodb.send(
      new GetItemCommand({ TableName: 'stack-leases', Key: { leaseKey: { S: 'shardId-000000000000' } } }),
    );
    assert.deepEqual(Item?.leaseCounter, { N: '7' });
  });

  it('puts and gets an S3 object (path-style, S3RVER credentials)', async () => {
    await ensureBucket(local.clients, 'stack-bucket');
    await ensureBucket(local.clients, 'stack-bucket');
    await local.clients.s3.send(
      new PutObjectCommand({ Bucket: 'stack-bucket', Key: 'a/b.json', Body: '{"x":1}' }),
    );
    const object = await local.clients.s3.send(
      new GetObjectCommand({ Bucket: 'stack-bucket', Key: 'a/b.json' }),
    );
    assert.equal(await object.Body?.transformToString(), '{"x":1}');
  });

  it('injects throttling and 5xx at the wire of kinesalite and dynalite; the SDK retries them', async () => {
    const oneShot = createAwsClients({ ...localClientsConfig(local.stack), maxAttempts: 1 });
    try {
      local.stack.faults.kinesis.injectFault({
        action: 'PutRecord',
        statusCode: 400,
        type: 'ProvisionedThroughputExceededException',
      });
      await assert.rejects(
        oneShot.kinesis.send(
          new PutRecordCommand({ StreamName: 'stack-test', PartitionKey: 'k', Data: Buffer.from('x') }),
        ),
        { name: 'ProvisionedThroughputExceededException' },
      );
      local.stack.faults.dynamodb.injectFault({ action: 'GetItem', statusCode: 500 });
      await assert.rejects(
        oneShot.dynamodb.send(
          new GetItemCommand({ TableName: 'stack-leases', Key: { leaseKey: { S: 'shardId-000000000000' } } }),
        ),
        (error: Error & { $metadata?: { httpStatusCode?: number } }) =>
          error.$metadata?.httpStatusCode === 500,
      );
    } finally {
      oneShot.destroy();
    }
    // With the SDK's default three attempts, one injected fault is absorbed by a retry.
    local.stack.faults.kinesis.injectFault({ action: 'PutRecord', statusCode: 500 });
    const put = await local.clients.kinesis.send(
      new PutRecordCommand({ StreamName: 'stack-test', PartitionKey: 'k', Data: Buffer.from('y') }),
    );
    assert.equal(put.$metadata.attempts, 2);
  });

  const signed = {
    authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/firehose/aws4_request',
    'content-type': 'application/x-amz-json-1.1',
  };

  it('answers protocol errors in the service error shape', async () => {
    const firehose = local.stack.endpoints.firehose;
    const unsigned = await call(firehose, { 'x-amz-target': 'Firehose_20150804.ListDeliveryStreams' }, '{}');
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.body.__type, 'MissingAuthenticationTokenException');

    const unknown = await call(
      firehose,
      { ...signed, 'x-amz-target': 'Firehose_20150804.StartDeliveryStreamEncryption' },
      '{}',
    );
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.__type, 'UnknownOperationException');

    const wrongService = await call(firehose, { ...signed, 'x-amz-target': 'AWSEvents.PutEvents' }, '{}');
    assert.equal(wrongService.body.__type, 'UnknownOperationException');

    const notJson = await call(
      firehose,
      { ...signed, 'x-amz-target': 'Firehose_20150804.PutRecord' },
      '{"Deliv',
    );
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.__type, 'SerializationException');

    const wrongType = await call(
      firehose,
      { ...signed, 'x-amz-target': 'Firehose_20150804.DescribeDeliveryStream' },
      '{"DeliveryStreamName": 42}',
    );
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.__type, 'ValidationException');
  });

  it('qualifies SQS error types with the SQS namespace, as the JSON protocol does', async () => {
    const response = await fetch(local.stack.endpoints.sqs, {
      method: 'POST',
      headers: {
        ...signed,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.GetQueueUrl',
      },
      body: '{"QueueName":"missing"}',
    });
    assert.equal(response.status, 400);
    assert.equal(
      response.headers.get('x-amzn-query-error'),
      'AWS.SimpleQueueService.NonExistentQueue;Sender',
    );
    assert.equal(
      ((await response.json()) as { __type: string }).__type,
      'com.amazonaws.sqs#QueueDoesNotExist',
    );
  });
});
