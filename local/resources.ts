/**
 * Creates the resources the pipeline needs, idempotently: running it against a stack that already has
 * them (a restart with `dataDir`, or a second CLI run) changes nothing. Names default to DEFAULT_NAMES,
 * the same the CDK app deploys.
 */
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-eventbridge';
import {
  CreateDeliveryStreamCommand,
  ResourceInUseException as FirehoseResourceInUseException,
} from '@aws-sdk/client-firehose';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ResourceInUseException as KinesisResourceInUseException,
} from '@aws-sdk/client-kinesis';
import { BucketAlreadyOwnedByYou, CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../consumers/aws/clients.ts';
import { PARTITION_KEY_QUERIES, S3_PREFIXES } from '../consumers/contract/layout.ts';
import { DEFAULT_NAMES, PARTITION_KEY_PATH, TELEMETRY_EVENT_PATTERN } from '../consumers/contract/routing.ts';

/** Hash key of the lease table: one item per shard, as the KCL lays it out. */
export const LEASE_TABLE_HASH_KEY = 'leaseKey';
/** Hash key of the correction history: the CorrectionRequest id, so a conditional put is at-most-once. */
export const CORRECTION_TABLE_HASH_KEY = 'id';

export type ResourceClients = Pick<
  AwsClients,
  'kinesis' | 'dynamodb' | 's3' | 'firehose' | 'eventbridge' | 'sqs'
>;

export interface ResourceNames {
  readonly bus: string;
  readonly rule: string;
  readonly stream: string;
  readonly leaseTable: string;
  readonly correctionTable: string;
  readonly resultsDeliveryStream: string;
  readonly rawDeliveryStream: string;
  readonly bucket: string;
  readonly dlq: string;
  /** Where EventBridge puts events it could not deliver to Kinesis. @default 'fleetstream-rule-dlq' */
  readonly ruleDlq: string;
}

export const DEFAULT_RESOURCE_NAMES: ResourceNames = { ...DEFAULT_NAMES, ruleDlq: 'fleetstream-rule-dlq' };

export interface ResourceOptions {
  /** Shards of a newly created stream (an existing stream keeps its own). @default 2 */
  readonly shardCount?: number;
  /** Firehose buffer interval, seconds (AWS allows 0–900). @default 60 */
  readonly bufferIntervalSeconds?: number;
  /** Firehose buffer size, MiB (AWS requires ≥ 64 with dynamic partitioning). @default 64 */
  readonly bufferSizeMiB?: number;
  /** How long to wait for the stream to become ACTIVE, ms. @default 30000 */
  readonly activeTimeoutMs?: number;
}

export interface EnsuredResources {
  readonly names: ResourceNames;
  readonly streamArn: string;
  readonly dlqUrl: string;
  readonly ruleDlqUrl: string;
  readonly bucketArn: string;
}

/** ARN shapes the local stand-ins and AWS agree on; the account and region come from the stream's own ARN. */
function arnParts(streamArn: string): { region: string; account: string } {
  const [, , , region = 'us-east-1', account = '000000000000'] = streamArn.split(':');
  return { region, account };
}

export async function ensureResources(
  clients: ResourceClients,
  names: Partial<ResourceNames> = {},
  options: ResourceOptions = {},
): Promise<EnsuredResources> {
  const all: ResourceNames = { ...DEFAULT_RESOURCE_NAMES, ...names };
  const [streamArn] = await Promise.all([
    ensureStream(clients, all.stream, options.shardCount ?? 2, options.activeTimeoutMs ?? 30_000),
    ensureTable(clients, all.leaseTable, LEASE_TABLE_HASH_KEY),
    ensureTable(clients, all.correctionTable, CORRECTION_TABLE_HASH_KEY),
    ensureBucket(clients, all.bucket),
  ]);
  const { region, account } = arnParts(streamArn);
  const [dlqUrl, ruleDlqUrl] = await Promise.all([
    ensureQueue(clients, all.dlq),
    ensureQueue(clients, all.ruleDlq),
  ]);
  const bucketArn = `arn:aws:s3:::${all.bucket}`;
  const roleArn = `arn:aws:iam::${account}:role/fleetstream-firehose`;
  const buffering = {
    IntervalInSeconds: options.bufferIntervalSeconds ?? 60,
    SizeInMBs: options.bufferSizeMiB ?? 64,
  };
  await Promise.all([
    ensureDeliveryStream(
      clients,
      all.resultsDeliveryStream,
      bucketArn,
      roleArn,
      S3_PREFIXES.results,
      buffering,
    ),
    ensureDeliveryStream(clients, all.rawDeliveryStream, bucketArn, roleArn, S3_PREFIXES.raw, buffering),
  ]);
  await ensureRule(clients, all, streamArn, `arn:aws:sqs:${region}:${account}:${all.ruleDlq}`, account);
  return { names: all, streamArn, dlqUrl, ruleDlqUrl, bucketArn };
}

/** Creates the stream if needed and waits until it is ACTIVE; returns its ARN. */
export async function ensureStream(
  clients: Pick<AwsClients, 'kinesis'>,
  name: string,
  shardCount: number,
  activeTimeoutMs = 30_000,
): Promise<string> {
  try {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  } catch (error) {
    if (!(error instanceof KinesisResourceInUseException)) throw error;
  }
  const deadline = Date.now() + activeTimeoutMs;
  for (let delayMs = 10; ; delayMs = Math.min(delayMs * 2, 500)) {
    const { StreamDescriptionSummary: summary } = await clients.kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    if (summary?.StreamStatus === 'ACTIVE' || summary?.StreamStatus === 'UPDATING') return summary.StreamARN!;
    if (Date.now() > deadline) throw new Error(`stream ${name} not ACTIVE after ${activeTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** On-demand table with a single string hash key; waits until ACTIVE. */
export async function ensureTable(
  clients: Pick<AwsClients, 'dynamodb'>,
  name: string,
  hashKey: string,
  activeTimeoutMs = 30_000,
): Promise<void> {
  try {
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: hashKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: hashKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + activeTimeoutMs;
  for (let delayMs = 10; ; delayMs = Math.min(delayMs * 2, 500)) {
    const { Table: table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${name} not ACTIVE after ${activeTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

export async function ensureBucket(clients: Pick<AwsClients, 's3'>, name: string): Promise<void> {
  try {
    await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    // s3rver answers BucketAlreadyExists for a bucket it already has; AWS says BucketAlreadyOwnedByYou.
    if (!(error instanceof BucketAlreadyOwnedByYou) && (error as Error).name !== 'BucketAlreadyExists')
      throw error;
  }
}

/** CreateQueue is idempotent in SQS itself when the attributes match; returns the queue URL. */
export async function ensureQueue(
  clients: Pick<AwsClients, 'sqs'>,
  name: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  const { QueueUrl: url } = await clients.sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  // Reading an attribute back proves the queue answers at its URL, not just that the name was accepted.
  await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return url!;
}

export async function ensureDeliveryStream(
  clients: Pick<AwsClients, 'firehose'>,
  name: string,
  bucketArn: string,
  roleArn: string,
  prefix: string,
  buffering: { IntervalInSeconds: number; SizeInMBs: number },
): Promise<void> {
  const extractionQuery = `{${Object.entries(PARTITION_KEY_QUERIES)
    .map(([key, query]) => `${key}:${query}`)
    .join(',')}}`;
  try {
    await clients.firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          RoleARN: roleArn,
          BucketARN: bucketArn,
          Prefix: prefix,
          ErrorOutputPrefix: S3_PREFIXES.errors,
          BufferingHints: buffering,
          CompressionFormat: 'GZIP',
          DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } },
          ProcessingConfiguration: {
            Enabled: true,
            // Consumers pack many JSON lines into one Firehose record (see firehose-sink.ts): split them,
            // partition each, and end each with a newline again.
            Processors: [
              {
                Type: 'RecordDeAggregation',
                Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'JSON' }],
              },
              {
                Type: 'MetadataExtraction',
                Parameters: [
                  { ParameterName: 'MetadataExtractionQuery', ParameterValue: extractionQuery },
                  { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
                ],
              },
              { Type: 'AppendDelimiterToRecord' },
            ],
          },
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof FirehoseResourceInUseException)) throw error;
  }
}

async function ensureRule(
  clients: Pick<AwsClients, 'eventbridge'>,
  names: ResourceNames,
  streamArn: string,
  ruleDlqArn: string,
  account: string,
): Promise<void> {
  try {
    await clients.eventbridge.send(new CreateEventBusCommand({ Name: names.bus }));
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
  // PutRule and PutTargets are upserts in EventBridge, so repeating them is harmless.
  await clients.eventbridge.send(
    new PutRuleCommand({
      Name: names.rule,
      EventBusName: names.bus,
      EventPattern: JSON.stringify(TELEMETRY_EVENT_PATTERN),
      State: 'ENABLED',
    }),
  );
  await clients.eventbridge.send(
    new PutTargetsCommand({
      Rule: names.rule,
      EventBusName: names.bus,
      Targets: [
        {
          Id: 'kinesis',
          Arn: streamArn,
          RoleArn: `arn:aws:iam::${account}:role/fleetstream-events-to-kinesis`,
          KinesisParameters: { PartitionKeyPath: PARTITION_KEY_PATH },
          DeadLetterConfig: { Arn: ruleDlqArn },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        },
      ],
    }),
  );
}
