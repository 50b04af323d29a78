/**
 * The one place SDK clients are built. The application receives these at start-up and never knows
 * whether they talk to AWS or to the embedded stack: locally only the endpoints and credentials differ.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export type AwsServiceName =
  | 'kinesis'
  | 'dynamodb'
  | 's3'
  | 'firehose'
  | 'eventbridge'
  | 'sqs'
  | 'sagemakerRuntime';

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsClientsConfig {
  /** AWS region of every client. */
  readonly region: string;
  /**
   * Endpoint per service, e.g. `http://127.0.0.1:4567` for the embedded stack.
   * @default none — the SDK resolves the regional AWS endpoint
   */
  readonly endpoints?: Partial<Record<AwsServiceName, string>>;
  /**
   * Fixed credentials (the embedded stack's).
   * @default none — the SDK's default provider chain (env, profile, IMDS/ECS role)
   */
  readonly credentials?: StaticCredentials;
  /**
   * Attempts per call, including the first, for the SDK's own retry of throttling and 5xx.
   * @default 3 (the SDK default)
   */
  readonly maxAttempts?: number;
}

export interface AwsClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly firehose: FirehoseClient;
  readonly eventbridge: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly sagemakerRuntime: SageMakerRuntimeClient;
  /** Closes every client's sockets; call once on shutdown. */
  destroy(): void;
}

interface CommonClientConfig {
  region: string;
  endpoint?: string;
  credentials?: StaticCredentials;
  maxAttempts?: number;
  requestHandler?: NodeHttpHandler;
}

function clientConfig(config: AwsClientsConfig, service: AwsServiceName): CommonClientConfig {
  const endpoint = config.endpoints?.[service];
  const common: CommonClientConfig = { region: config.region };
  if (config.credentials !== undefined) common.credentials = config.credentials;
  if (config.maxAttempts !== undefined) common.maxAttempts = config.maxAttempts;
  if (endpoint !== undefined) {
    common.endpoint = endpoint;
    // The Kinesis client negotiates HTTP/2 by default, which kinesalite (plain node:http) cannot speak;
    // an explicit HTTP/1.1 handler for every plain-http endpoint keeps all local clients alike.
    if (endpoint.startsWith('http://')) common.requestHandler = new NodeHttpHandler();
  }
  return common;
}

export function createAwsClients(config: AwsClientsConfig): AwsClients {
  const s3Endpoint = config.endpoints?.s3;
  const clients = {
    kinesis: new KinesisClient(clientConfig(config, 'kinesis')),
    dynamodb: new DynamoDBClient(clientConfig(config, 'dynamodb')),
    // A local S3 has no wildcard DNS for virtual-hosted buckets, so the bucket goes in the path.
    s3: new S3Client({ ...clientConfig(config, 's3'), forcePathStyle: s3Endpoint !== undefined }),
    firehose: new FirehoseClient(clientConfig(config, 'firehose')),
    eventbridge: new EventBridgeClient(clientConfig(config, 'eventbridge')),
    sqs: new SQSClient(clientConfig(config, 'sqs')),
    sagemakerRuntime: new SageMakerRuntimeClient(clientConfig(config, 'sagemakerRuntime')),
  };
  for (const client of Object.values(clients)) withoutSdkLogging(client);
  return {
    ...clients,
    destroy() {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

/**
 * fleetstream logs for itself and never hands the SDK a logger, yet the SDK's logger middleware still
 * copies every input and output through its sensitive-data filter before calling the no-op logger: a
 * walk over every record of each GetRecords page and PutRecordBatch, about 2% of a consumer's CPU.
 */
function withoutSdkLogging(client: { middlewareStack: { remove(name: string): boolean } }): void {
  client.middlewareStack.remove('loggerMiddleware');
}
