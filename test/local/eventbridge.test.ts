import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { TELEMETRY_DETAIL_TYPE, TELEMETRY_SOURCE } from '../../consumers/contract/telemetry.ts';
import { type EnsuredResources, ensureResources } from '../../local/resources.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';

const telemetry = (detail: object, overrides: object = {}) => ({
  EventBusName: DEFAULT_NAMES.bus,
  Source: TELEMETRY_SOURCE,
  DetailType: TELEMETRY_DETAIL_TYPE,
  Detail: JSON.stringify(detail),
  ...overrides,
});

async function readStream(clients: AwsClients, stream: string) {
  const { Shards } = await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }));
  const records = [];
  for (const shard of Shards ?? []) {
    const { ShardIterator } = await clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    for (const record of Records ?? []) {
      records.push({
        shardId: shard.ShardId!,
        partitionKey: record.PartitionKey!,
        event: JSON.parse(Buffer.from(record.Data!).toString('utf8')),
      });
    }
  }
  return records;
}

describe('EventBridge stand-in: PutEvents → rule → Kinesis with the real SDK clients', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  let resources: EnsuredResources;

  before(async () => {
    stack = await startLocalStack();
    clients = createAwsClients(localClientsConfig(stack));
    resources = await ensureResources(clients, {}, { shardCount: 2 });
  });
  after(async () => {
    clients.destroy();
    await stack.stop();
  });

  it('creates every resource idempotently', async () => {
    const again = await ensureResources(clients, {}, { shardCount: 2 });
    assert.deepEqual(again, resources);
  });

  it('routes matching events to Kinesis in the EventBridge envelope, keyed by $.detail.deviceId', async () => {
    const time = new Date('2026-03-04T05:06:07Z');
    const result = await clients.eventbridge.send(
      new PutEventsCommand({
        Entries: [
          telemetry({ deviceId: 'dev-a', seq: 1 }, { Time: time, Resources: ['arn:thing/dev-a'] }),
          telemetry({ deviceId: 'dev-b', seq: 1 }),
          telemetry({ deviceId: 'dev-a', seq: 2 }),
          telemetry({ deviceId: 'dev-a', seq: 3 }, { Source: 'iot.other' }),
          telemetry({ deviceId: 'dev-a', seq: 4 }, { EventBusName: 'default' }),
        ],
      }),
    );
    assert.equal(result.FailedEntryCount, 0);
    await stack.standIns.eventbridge.drain();

    const records = await readStream(clients, DEFAULT_NAMES.stream);
    // Only the telemetry events on the telemetry bus matched the rule.
    assert.equal(records.length, 3);
    for (const { partitionKey, event } of records) assert.equal(partitionKey, event.detail.deviceId);
    const devA = records.filter((record) => record.partitionKey === 'dev-a');
    assert.deepEqual(
      devA.map((record) => record.event.detail.seq),
      [1, 2],
    );
    assert.equal(new Set(devA.map((record) => record.shardId)).size, 1);
    const first = devA[0]!.event;
    assert.deepEqual(Object.keys(first).sort(), [
      'account',
      'detail',
      'detail-type',
      'id',
      'region',
      'resources',
      'source',
      'time',
      'version',
    ]);
    assert.equal(first.version, '0');
    assert.equal(first.source, TELEMETRY_SOURCE);
    assert.equal(first['detail-type'], TELEMETRY_DETAIL_TYPE);
    assert.equal(first.time, '2026-03-04T05:06:07Z');
    assert.equal(first.account, '000000000000');
    assert.equal(first.region, stack.region);
    assert.deepEqual(first.resources, ['arn:thing/dev-a']);
    assert.equal(first.id, result.Entries![0]!.EventId);
    assert.deepEqual(first.detail, { deviceId: 'dev-a', seq: 1 });
  });

  it('rejects calls over the PutEvents limits with ValidationException', async () => {
    const entries = Array.from({ length: 11 }, (_, seq) => telemetry({ deviceId: 'dev-x', seq }));
    await assert.rejects(clients.eventbridge.send(new PutEventsCommand({ Entries: entries })), {
      name: 'ValidationException',
    });
    const large = telemetry({ deviceId: 'dev-x', padding: 'x'.repeat(128 * 1024) });
    await assert.rejects(clients.eventbridge.send(new PutEventsCommand({ Entries: [large, large] })), {
      name: 'ValidationException',
    });
    // Just under the limit is accepted.
    const fits = telemetry({ deviceId: 'dev-x', padding: 'x'.repeat(120 * 1024) });
    const ok = await clients.eventbridge.send(new PutEventsCommand({ Entries: [fits, fits] }));
    assert.equal(ok.FailedEntryCount, 0);
    await stack.standIns.eventbridge.drain();
  });

  it('reports bad entries one by one, as EventBridge does', async () => {
    const result = await clients.eventbridge.send(
      new PutEventsCommand({
        Entries: [
          telemetry({ deviceId: 'dev-c', seq: 1 }),
          { ...telemetry({}), Detail: '{not json' },
          { ...telemetry({}), Detail: undefined },
          telemetry({ deviceId: 'dev-c', seq: 2 }, { Source: 'aws.ec2' }),
          telemetry({ deviceId: 'dev-c', seq: 3 }, { EventBusName: 'no-such-bus' }),
        ],
      }),
    );
    assert.equal(result.FailedEntryCount, 4);
    assert.deepEqual(
      result.Entries?.map((entry) => entry.ErrorCode ?? 'ok'),
      [
        'ok',
        'MalformedDetail',
        'InvalidArgument',
        'NotAuthorizedForSourceException',
        'ResourceNotFoundException',
      ],
    );
    assert.ok(result.Entries?.slice(1).every((entry) => entry.ErrorMessage && entry.EventId === undefined));
    await assert.rejects(
      clients.eventbridge.send(
        new PutRuleCommand({
          Name: 'bad',
          EventBusName: DEFAULT_NAMES.bus,
          EventPattern: '{"source":"iot.fleet"}',
        }),
      ),
      { name: 'InvalidEventPatternException' },
    );
    await stack.standIns.eventbridge.drain();
  });

  it('dead-letters events it cannot deliver, with the EventBridge error attributes', async () => {
    // The real routing rule: an event without detail.deviceId has no partition key.
    await clients.eventbridge.send(new PutEventsCommand({ Entries: [telemetry({ seq: 1 })] }));
    // A second rule whose target stream does not exist.
    await clients.eventbridge.send(
      new PutRuleCommand({
        Name: 'to-missing-stream',
        EventBusName: DEFAULT_NAMES.bus,
        EventPattern: JSON.stringify({ detail: { deviceId: [{ prefix: 'lost-' }] } }),
      }),
    );
    const missingStreamArn = resources.streamArn.replace(DEFAULT_NAMES.stream, 'does-not-exist');
    await clients.eventbridge.send(
      new PutTargetsCommand({
        Rule: 'to-missing-stream',
        EventBusName: DEFAULT_NAMES.bus,
        Targets: [
          {
            Id: 'missing',
            Arn: missingStreamArn,
            KinesisParameters: { PartitionKeyPath: '$.detail.deviceId' },
            DeadLetterConfig: {
              Arn: resources.ruleDlqUrl.replace(/^.*\/(\d+)\/(.+)$/, 'arn:aws:sqs:us-east-1:$1:$2'),
            },
            RetryPolicy: { MaximumRetryAttempts: 1 },
          },
        ],
      }),
    );
    await clients.eventbridge.send(
      new PutEventsCommand({
        Entries: [telemetry({ deviceId: 'lost-1', seq: 1 }, { Source: 'iot.elsewhere' })],
      }),
    );
    await stack.standIns.eventbridge.drain();

    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.ruleDlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    assert.equal(Messages?.length, 2);
    const byCode = new Map(Messages!.map((m) => [m.MessageAttributes?.ERROR_CODE?.StringValue, m]));
    const noKey = byCode.get('InvalidPartitionKey');
    assert.ok(noKey, 'event without deviceId dead-lettered');
    assert.deepEqual(JSON.parse(noKey.Body!).detail, { seq: 1 });
    assert.match(
      noKey.MessageAttributes?.RULE_ARN?.StringValue ?? '',
      /rule\/fleetstream-telemetry\/fleetstream-telemetry-to-kinesis$/,
    );
    const missing = byCode.get('ResourceNotFoundException');
    assert.ok(missing, 'event for a missing stream dead-lettered');
    assert.equal(missing.MessageAttributes?.TARGET_ARN?.StringValue, missingStreamArn);
    assert.equal(stack.standIns.eventbridge.stats().lost, 0);
    assert.equal(stack.standIns.eventbridge.stats().deadLettered, 2);
  });

  it('retries a failing Kinesis target with backoff, then dead-letters once MaximumRetryAttempts is used up', async () => {
    const ruleDlqArn = resources.ruleDlqUrl.replace(/^.*\/(\d+)\/(.+)$/, 'arn:aws:sqs:us-east-1:$1:$2');
    await clients.eventbridge.send(
      new PutRuleCommand({
        Name: 'retrying',
        EventBusName: DEFAULT_NAMES.bus,
        EventPattern: '{"source":["iot.retry"]}',
      }),
    );
    await clients.eventbridge.send(
      new PutTargetsCommand({
        Rule: 'retrying',
        EventBusName: DEFAULT_NAMES.bus,
        Targets: [
          {
            Id: 'stream',
            Arn: resources.streamArn,
            KinesisParameters: { PartitionKeyPath: '$.detail.deviceId' },
            DeadLetterConfig: { Arn: ruleDlqArn },
            RetryPolicy: { MaximumRetryAttempts: 2 },
          },
        ],
      }),
    );
    const before = stack.standIns.eventbridge.stats();

    // Two 5xx answers from Kinesis: the third attempt gets through.
    stack.faults.kinesis.injectFault({ action: 'PutRecords', times: 2, statusCode: 500 });
    await clients.eventbridge.send(
      new PutEventsCommand({
        Entries: [telemetry({ deviceId: 'retry-ok', seq: 1 }, { Source: 'iot.retry' })],
      }),
    );
    await stack.standIns.eventbridge.drain();
    const delivered = (await readStream(clients, DEFAULT_NAMES.stream)).filter(
      (r) => r.partitionKey === 'retry-ok',
    );
    assert.equal(delivered.length, 1);
    assert.equal(stack.standIns.eventbridge.stats().retried - before.retried, 2);

    // Three throttles: the event is dead-lettered after the initial attempt and two retries.
    stack.faults.kinesis.injectFault({
      action: 'PutRecords',
      times: 3,
      statusCode: 400,
      type: 'ProvisionedThroughputExceededException',
    });
    await clients.eventbridge.send(
      new PutEventsCommand({
        Entries: [telemetry({ deviceId: 'retry-lost', seq: 1 }, { Source: 'iot.retry' })],
      }),
    );
    await stack.standIns.eventbridge.drain();
    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.ruleDlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    const dead = Messages?.find((m) => JSON.parse(m.Body!).detail.deviceId === 'retry-lost');
    assert.ok(dead, 'dead-lettered after the retries');
    assert.equal(dead.MessageAttributes?.ERROR_CODE?.StringValue, 'ProvisionedThroughputExceededException');
    assert.equal(dead.MessageAttributes?.EXHAUSTED_RETRY_CONDITION?.StringValue, 'MaximumRetryAttempts');
    assert.equal(dead.MessageAttributes?.RETRY_ATTEMPTS?.StringValue, '2');
    assert.equal(stack.standIns.eventbridge.stats().lost, 0);
  });
});
