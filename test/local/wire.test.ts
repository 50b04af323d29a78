import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

/** Raw HTTP, to check what the SDK never sends: the stand-ins answer like AWS, never crash. */
async function call(endpoint: string, headers: Record<string, string>, body: string) {
  const response = await fetch(endpoint, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as { __type?: string; message?: string } };
}

describe('stand-in wire protocol', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startLocalStack();
  });
  after(() => stack.stop());

  const signed = {
    authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/firehose/aws4_request',
    'content-type': 'application/x-amz-json-1.1',
  };

  it('answers protocol errors in the service error shape', async () => {
    const firehose = stack.endpoints.firehose;
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
    const response = await fetch(stack.endpoints.sqs, {
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
