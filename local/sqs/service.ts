import type { JsonService } from '../wire/json-server.ts';
import { closeServer, createJsonService } from '../wire/json-server.ts';

export interface SqsStandInOptions {
  readonly region: string;
  readonly accountId: string;
  readonly statePath?: string;
}

export interface SqsStandIn {
  readonly service: JsonService;
  setEndpoint(endpoint: string): void;
  close(): Promise<void>;
}

export function createSqsStandIn(_options: SqsStandInOptions): SqsStandIn {
  const service = createJsonService({
    targetPrefix: 'AmazonSQS',
    contentType: 'application/x-amz-json-1.0',
    actions: {},
    context: {},
  });
  return { service, setEndpoint() {}, close: () => closeServer(service.server) };
}
