import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { JsonService } from '../wire/json-server.ts';
import { closeServer, createJsonService } from '../wire/json-server.ts';

export interface EventBridgeStandInOptions {
  readonly region: string;
  readonly accountId: string;
  readonly kinesis: KinesisClient;
  readonly sqs: SQSClient;
  readonly statePath?: string;
}

export interface EventBridgeStandIn {
  readonly service: JsonService;
  close(): Promise<void>;
}

export function createEventBridgeStandIn(_options: EventBridgeStandInOptions): EventBridgeStandIn {
  const service = createJsonService({
    targetPrefix: 'AWSEvents',
    contentType: 'application/x-amz-json-1.1',
    actions: {},
    context: {},
  });
  return { service, close: () => closeServer(service.server) };
}
