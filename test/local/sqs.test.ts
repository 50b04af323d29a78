import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../consumers/aws/clients.ts';
import { ensureQueue } from '../../local/resources.ts';
import { useLocalStack } from '../support/local-stack.ts';

async function attributesOf(clients: AwsClients, url: string): Promise<Record<string, string>> {
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  return Attributes ?? {};
}

describe('SQS stand-in with the real @aws-sdk/client-sqs', () => {
  const local = useLocalStack();

  it('creates queues idempotently and refuses a conflicting re-create', async () => {
    const first = await ensureQueue(local.clients, 'idem', { VisibilityTimeout: '5' });
    const second = await ensureQueue(local.clients, 'idem', { VisibilityTimeout: '5' });
    assert.equal(first, second);
    await assert.rejects(
      local.clients.sqs.send(
        new CreateQueueCommand({ QueueName: 'idem', Attributes: { VisibilityTimeout: '6' } }),
      ),
      { name: 'QueueNameExists' },
    );
    await assert.rejects(
      local.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: first.replace('idem', 'nope'), MessageBody: 'x' }),
      ),
      { name: 'QueueDoesNotExist' },
    );
  });

  it('round-trips body and message attributes (the SDK verifies the MD5s)', async () => {
    const url = await ensureQueue(local.clients, 'roundtrip');
    const sent = await local.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"reason":"SCHEMA_INVALID","emoji":"🚚"}',
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: 'SCHEMA_INVALID' },
          raw: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 255]) },
        },
      }),
    );
    const { Messages } = await local.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const message = Messages?.[0];
    assert.equal(message?.MessageId, sent.MessageId);
    assert.equal(message?.Body, '{"reason":"SCHEMA_INVALID","emoji":"🚚"}');
    assert.equal(message?.MessageAttributes?.reason?.StringValue, 'SCHEMA_INVALID');
    assert.deepEqual([...(message?.MessageAttributes?.raw?.BinaryValue ?? [])], [0, 1, 2, 255]);
    assert.equal(message?.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.equal(message?.Attributes?.ApproximateReceiveCount, '1');
    await local.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }),
    );
    // Deleting twice is not an error in SQS.
    await local.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }),
    );
    assert.equal((await attributesOf(local.clients, url)).ApproximateNumberOfMessages, '0');
  });

  it('hides a received message for the visibility timeout, then delivers it again', async () => {
    const url = await ensureQueue(local.clients, 'visibility');
    await local.clients.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'once' }));
    const first = await local.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 1 }),
    );
    assert.equal(first.Messages?.length, 1);
    const attributes = await attributesOf(local.clients, url);
    assert.equal(attributes.ApproximateNumberOfMessages, '0');
    assert.equal(attributes.ApproximateNumberOfMessagesNotVisible, '1');
    const hidden = await local.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(hidden.Messages, undefined);
    // Long polling returns as soon as the message turns visible again.
    const again = await local.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'] }),
    );
    assert.equal(again.Messages?.[0]?.MessageId, first.Messages?.[0]?.MessageId);
    assert.equal(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '2');
    assert.notEqual(again.Messages?.[0]?.ReceiptHandle, first.Messages?.[0]?.ReceiptHandle);
    // The first receive's handle is stale now.
    await assert.rejects(
      local.clients.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first.Messages![0]!.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      ),
      { name: 'MessageNotInflight' },
    );
    // Visibility 0 on the live handle makes it receivable at once.
    await local.clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: again.Messages![0]!.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const third = await local.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(third.Messages?.[0]?.MessageId, first.Messages?.[0]?.MessageId);
  });

  it('long polling wakes up on a message sent while it waits', async () => {
    const url = await ensureQueue(local.clients, 'longpoll');
    const waiting = local.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await local.clients.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' }));
    assert.equal((await waiting).Messages?.[0]?.Body, 'late');
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlqUrl = await ensureQueue(local.clients, 'redrive-dlq');
    const { QueueArn: dlqArn } = await attributesOf(local.clients, dlqUrl);
    const url = await ensureQueue(local.clients, 'redrive-source', {
      VisibilityTimeout: '0',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    await local.clients.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let receive = 1; receive <= 2; receive += 1) {
      const { Messages } = await local.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
      assert.equal(Messages?.[0]?.Body, 'poison', `receive ${receive}`);
    }
    const third = await local.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(third.Messages, undefined);
    const { Messages } = await local.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageSystemAttributeNames: ['All'] }),
    );
    assert.equal(Messages?.[0]?.Body, 'poison');
    assert.equal(
      Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn,
      (await attributesOf(local.clients, url)).QueueArn,
    );
  });

  it('validates batches like SQS: whole-call errors and per-entry failures', async () => {
    const url = await ensureQueue(local.clients, 'batch');
    const entries = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: `m${i}` }));
    await assert.rejects(
      local.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) })),
      {
        name: 'TooManyEntriesInBatchRequest',
      },
    );
    await assert.rejects(
      local.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })),
      {
        name: 'EmptyBatchRequest',
      },
    );
    await assert.rejects(
      local.clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'same', MessageBody: 'a' },
            { Id: 'same', MessageBody: 'b' },
          ],
        }),
      ),
      { name: 'BatchEntryIdsNotDistinct' },
    );
    const result = await local.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [...entries(3), { Id: 'bad', MessageBody: 'control \u0000 char' }],
      }),
    );
    assert.deepEqual(result.Successful?.map((entry) => entry.Id).sort(), ['e0', 'e1', 'e2']);
    assert.equal(result.Failed?.length, 1);
    assert.equal(result.Failed?.[0]?.Id, 'bad');
    assert.equal(result.Failed?.[0]?.Code, 'InvalidMessageContents');

    const { Messages } = await local.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
    );
    assert.equal(Messages?.length, 3);
    const deleted = await local.clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...Messages!.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle })),
          { Id: 'garbage', ReceiptHandle: 'not-a-handle' },
        ],
      }),
    );
    assert.equal(deleted.Successful?.length, 3);
    assert.equal(deleted.Failed?.[0]?.Code, 'ReceiptHandleIsInvalid');
    const attributes = await attributesOf(local.clients, url);
    assert.equal(attributes.ApproximateNumberOfMessages, '0');
    assert.equal(attributes.ApproximateNumberOfMessagesNotVisible, '0');
  });
});
