/**
 * Malformed requests sent as raw HTTP to the stand-ins (no SDK in between to tidy them up): each is refused
 * with the status and `__type` the real service uses, and the server keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useLocalStack } from '../support/local-stack.ts';

type Service = 'sqs' | 'firehose' | 'eventbridge';

const PROTOCOL: Record<Service, { prefix: string; contentType: string }> = {
  sqs: { prefix: 'AmazonSQS', contentType: 'application/x-amz-json-1.0' },
  firehose: { prefix: 'Firehose_20150804', contentType: 'application/x-amz-json-1.1' },
  eventbridge: { prefix: 'AWSEvents', contentType: 'application/x-amz-json-1.1' },
};

interface Answer {
  status: number;
  /** `__type` without SQS's namespace. */
  type: string | undefined;
  body: Record<string, unknown>;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('stand-ins refuse malformed requests with the service error, and keep serving', () => {
  const local = useLocalStack();

  async function call(service: Service, action: string, input: unknown): Promise<Answer> {
    const { prefix, contentType } = PROTOCOL[service];
    const response = await fetch(local.stack.endpoints[service], {
      method: 'POST',
      headers: {
        authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/x/aws4_request',
        'content-type': contentType,
        'x-amz-target': `${prefix}.${action}`,
      },
      body: JSON.stringify(input),
    });
    const body = (await response.json()) as Record<string, unknown>;
    const type = typeof body.__type === 'string' ? body.__type.replace(/^.*#/, '') : undefined;
    return { status: response.status, type, body };
  }

  async function refused(service: Service, action: string, input: unknown, type: string): Promise<Answer> {
    const answer = await call(service, action, input);
    assert.deepEqual(
      { status: answer.status, type: answer.type },
      { status: 400, type },
      `${action} ${JSON.stringify(input).slice(0, 120)} → ${JSON.stringify(answer.body)}`,
    );
    assert.equal(typeof answer.body.message, 'string');
    return answer;
  }

  it('SQS: message attributes of the wrong type or value, list members that are not strings', async () => {
    const { body } = await call('sqs', 'CreateQueue', { QueueName: 'malformed' });
    const QueueUrl = body.QueueUrl as string;
    const send = (MessageAttributes: unknown) => ({ QueueUrl, MessageBody: 'x', MessageAttributes });
    await refused(
      'sqs',
      'SendMessage',
      send({ a: { DataType: 'String', StringValue: 5 } }),
      'InvalidParameterValue',
    );
    await refused(
      'sqs',
      'SendMessage',
      send({ a: { DataType: 'Binary', BinaryValue: 5 } }),
      'InvalidParameterValue',
    );
    await refused(
      'sqs',
      'SendMessage',
      send({ a: { DataType: 'Binary', BinaryValue: 'not base64!' } }),
      'SerializationException',
    );
    const number = await refused(
      'sqs',
      'SendMessage',
      send({ a: { DataType: 'Number', StringValue: 'twelve' } }),
      'InvalidParameterValue',
    );
    assert.match(String(number.body.message), /to a number/);
    await refused('sqs', 'SendMessage', send({ a: null }), 'InvalidParameterValue');
    await refused(
      'sqs',
      'SendMessage',
      send({ '': { DataType: 'String', StringValue: 'v' } }),
      'InvalidParameterValue',
    );
    // In a batch the bad entry fails alone; the call itself succeeds.
    const batch = await call('sqs', 'SendMessageBatch', {
      QueueUrl,
      Entries: [
        { Id: 'ok', MessageBody: 'x' },
        { Id: 'bad', MessageBody: 'x', MessageAttributes: { a: { DataType: 'String', StringValue: 5 } } },
      ],
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(
      (batch.body.Failed as { Id: string; Code: string }[]).map(({ Id, Code }) => ({ Id, Code })),
      [{ Id: 'bad', Code: 'InvalidParameterValue' }],
    );
    await refused('sqs', 'ReceiveMessage', { QueueUrl, MessageAttributeNames: [5] }, 'InvalidParameterValue');
    await refused('sqs', 'GetQueueAttributes', { QueueUrl, AttributeNames: [null] }, 'InvalidParameterValue');
    await refused(
      'sqs',
      'GetQueueAttributes',
      { QueueUrl, AttributeNames: ['constructor'] },
      'InvalidAttributeName',
    );
    const good = await call('sqs', 'SendMessage', send({ n: { DataType: 'Number', StringValue: '-1.5e3' } }));
    assert.equal(good.status, 200, 'a real number attribute is still accepted');
  });

  it('SQS: queue names that are Object.prototype members are ordinary names', async () => {
    const base = `${local.stack.endpoints.sqs}/000000000000`;
    for (const name of ['constructor', '__proto__', 'toString']) {
      await refused(
        'sqs',
        'SendMessage',
        { QueueUrl: `${base}/${name}`, MessageBody: 'x' },
        'QueueDoesNotExist',
      );
      await refused('sqs', 'GetQueueUrl', { QueueName: name }, 'QueueDoesNotExist');
    }
    const created = await call('sqs', 'CreateQueue', {
      QueueName: '__proto__',
      Attributes: { DelaySeconds: '0' },
    });
    assert.equal(created.status, 200);
    const QueueUrl = created.body.QueueUrl as string;
    assert.equal((await call('sqs', 'SendMessage', { QueueUrl, MessageBody: 'kept' })).status, 200);
    const received = await call('sqs', 'ReceiveMessage', { QueueUrl });
    assert.equal((received.body.Messages as { Body: string }[] | undefined)?.[0]?.Body, 'kept');
  });

  it('Firehose: Data that is not base64, and names that are Object.prototype members', async () => {
    const destination = {
      RoleARN: 'arn:aws:iam::000000000000:role/firehose',
      BucketARN: 'arn:aws:s3:::malformed',
    };
    const create = (name: string, extra: object = {}) => ({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: { ...destination, ...extra },
    });
    assert.equal((await call('firehose', 'CreateDeliveryStream', create('malformed'))).status, 200);
    await refused(
      'firehose',
      'PutRecord',
      { DeliveryStreamName: 'malformed', Record: { Data: 'not base64 ***' } },
      'SerializationException',
    );
    await refused(
      'firehose',
      'PutRecordBatch',
      { DeliveryStreamName: 'malformed', Records: [{ Data: b64('ok') }, { Data: '%%%%' }] },
      'SerializationException',
    );
    await refused(
      'firehose',
      'PutRecord',
      { DeliveryStreamName: 'constructor', Record: { Data: b64('x') } },
      'ResourceNotFoundException',
    );
    await refused(
      'firehose',
      'DescribeDeliveryStream',
      { DeliveryStreamName: 'toString' },
      'ResourceNotFoundException',
    );
    assert.equal((await call('firehose', 'CreateDeliveryStream', create('__proto__'))).status, 200);
    const list = await call('firehose', 'ListDeliveryStreams', {});
    assert.ok((list.body.DeliveryStreamNames as string[]).includes('__proto__'));

    const processing = (processors: object[]) => ({
      ProcessingConfiguration: { Enabled: true, Processors: processors },
    });
    await refused(
      'firehose',
      'CreateDeliveryStream',
      create(
        'bad-delimiter',
        processing([
          {
            Type: 'RecordDeAggregation',
            Parameters: [
              { ParameterName: 'SubRecordType', ParameterValue: 'DELIMITED' },
              { ParameterName: 'Delimiter', ParameterValue: '***' },
            ],
          },
        ]),
      ),
      'InvalidArgumentException',
    );
    const dynamic = (prefix: string) => ({
      Prefix: prefix,
      ErrorOutputPrefix: 'errors/',
      BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 900 },
      DynamicPartitioningConfiguration: { Enabled: true },
      ...processing([
        {
          Type: 'MetadataExtraction',
          Parameters: [{ ParameterName: 'MetadataExtractionQuery', ParameterValue: '{device:.device}' }],
        },
      ]),
    });
    await refused(
      'firehose',
      'CreateDeliveryStream',
      create('bad-key', dynamic('!{partitionKeyFromQuery:constructor}/')),
      'InvalidArgumentException',
    );
    // A partition key value from the record itself renders the buffer's prefix.
    assert.equal(
      (
        await call(
          'firehose',
          'CreateDeliveryStream',
          create('by-device', dynamic('!{partitionKeyFromQuery:device}')),
        )
      ).status,
      200,
    );
    for (const device of ['__proto__', 'constructor']) {
      const put = await call('firehose', 'PutRecord', {
        DeliveryStreamName: 'by-device',
        Record: { Data: b64(JSON.stringify({ device })) },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
    }
    await call('firehose', 'DeleteDeliveryStream', { DeliveryStreamName: 'by-device' });
  });

  it('EventBridge: entry members of the wrong type, and names that are Object.prototype members', async () => {
    const entry = { Source: 'fleet.test', DetailType: 'probe', Detail: '{}' };
    for (const bad of [
      { Time: 1e20 },
      { Time: 'yesterday' },
      { Resources: 'arn:aws:iot:device' },
      { Resources: [5] },
      { EventBusName: 5 },
      { Source: 5 },
    ]) {
      await refused('eventbridge', 'PutEvents', { Entries: [{ ...entry, ...bad }] }, 'ValidationException');
    }
    const put = await call('eventbridge', 'PutEvents', {
      Entries: [
        { ...entry, EventBusName: 'constructor' },
        { ...entry, Time: 1_767_225_600 },
      ],
    });
    assert.equal(put.status, 200);
    assert.deepEqual(
      (put.body.Entries as { ErrorCode?: string }[]).map((e) => e.ErrorCode ?? 'ok'),
      ['ResourceNotFoundException', 'ok'],
    );
    const pattern = '{"source":["fleet.test"]}';
    await refused(
      'eventbridge',
      'PutRule',
      { Name: 'r', EventBusName: 'hasOwnProperty', EventPattern: pattern },
      'ResourceNotFoundException',
    );
    await refused('eventbridge', 'DescribeRule', { Name: 'toString' }, 'ResourceNotFoundException');
    await refused('eventbridge', 'ListTargetsByRule', { Rule: 'constructor' }, 'ResourceNotFoundException');
    assert.equal((await call('eventbridge', 'CreateEventBus', { Name: 'constructor' })).status, 200);
    assert.equal(
      (await call('eventbridge', 'PutRule', { Name: '__proto__', EventPattern: pattern })).status,
      200,
    );
    const rules = await call('eventbridge', 'ListRules', {});
    assert.ok((rules.body.Rules as { Name: string }[]).some((rule) => rule.Name === '__proto__'));
    const targets = await call('eventbridge', 'PutTargets', {
      Rule: '__proto__',
      Targets: [{ Id: '__proto__', Arn: 'arn:aws:sqs:us-east-1:000000000000:malformed' }],
    });
    assert.equal(targets.status, 200);
    const listed = await call('eventbridge', 'ListTargetsByRule', { Rule: '__proto__' });
    assert.deepEqual(
      (listed.body.Targets as { Id: string }[]).map((target) => target.Id),
      ['__proto__'],
    );
  });

  it('every stand-in still answers after the bad requests', async () => {
    assert.equal((await call('sqs', 'GetQueueUrl', { QueueName: 'malformed' })).status, 200);
    assert.equal((await call('firehose', 'ListDeliveryStreams', {})).status, 200);
    assert.equal((await call('eventbridge', 'ListRules', {})).status, 200);
  });
});
