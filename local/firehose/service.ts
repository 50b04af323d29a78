import type { S3Client } from '@aws-sdk/client-s3';
import type { JsonService } from '../wire/json-server.ts';
import { closeServer, createJsonService } from '../wire/json-server.ts';

export interface FirehoseStandInOptions {
  readonly region: string;
  readonly accountId: string;
  readonly s3: S3Client;
  readonly tickMs: number;
  readonly statePath?: string;
}

export interface FirehoseStandIn {
  readonly service: JsonService;
  close(): Promise<void>;
}

export function createFirehoseStandIn(_options: FirehoseStandInOptions): FirehoseStandIn {
  const service = createJsonService({
    targetPrefix: 'Firehose_20150804',
    contentType: 'application/x-amz-json-1.1',
    actions: {},
    context: {},
  });
  return { service, close: () => closeServer(service.server) };
}
