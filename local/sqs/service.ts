/**
 * SQS stand-in speaking the AWS JSON 1.0 protocol of current SDKs (`X-Amz-Target: AmazonSQS.<Action>`).
 * Router only; each action lives in `actions/`.
 */
import { EventEmitter } from 'node:events';
import { type Action, closeServer, createJsonService, type JsonService } from '../wire/json-server.ts';
import { loadState } from '../wire/state-file.ts';
import { changeMessageVisibility } from './actions/changeMessageVisibility.ts';
import { createQueue } from './actions/createQueue.ts';
import { deleteMessage } from './actions/deleteMessage.ts';
import { deleteMessageBatch } from './actions/deleteMessageBatch.ts';
import { getQueueAttributes } from './actions/getQueueAttributes.ts';
import { getQueueUrl } from './actions/getQueueUrl.ts';
import { purgeQueue } from './actions/purgeQueue.ts';
import { receiveMessage } from './actions/receiveMessage.ts';
import { sendMessage } from './actions/sendMessage.ts';
import { sendMessageBatch } from './actions/sendMessageBatch.ts';
import { setQueueAttributes } from './actions/setQueueAttributes.ts';
import type { SqsContext, SqsState } from './queues.ts';

const actions: Record<string, Action<SqsContext>> = {
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: setQueueAttributes,
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  PurgeQueue: purgeQueue,
};

/** The codes the older query protocol used; SDKs read them from `x-amzn-query-error` for compatibility. */
const QUERY_ERROR_CODES: Readonly<Record<string, string>> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  QueueNameExists: 'QueueAlreadyExists',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
};

export interface SqsStandInOptions {
  readonly region: string;
  readonly accountId: string;
  /** JSON file holding queues and messages across restarts. @default in-memory */
  readonly statePath?: string;
}

export interface SqsStandIn {
  readonly service: JsonService;
  /** Queue URLs embed the endpoint, which is known only once the server listens. */
  setEndpoint(endpoint: string): void;
  close(): Promise<void>;
}

export function createSqsStandIn(options: SqsStandInOptions): SqsStandIn {
  const store = loadState<SqsState>(options.statePath, () => ({ queues: {} }));
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const stopping = new AbortController();
  let endpoint = 'http://127.0.0.1';

  const context: SqsContext = {
    store,
    region: options.region,
    accountId: options.accountId,
    endpoint: () => endpoint,
    now: () => Date.now(),
    stopped: stopping.signal,
    notify: (queueName) => changes.emit(queueName),
    waitForChange: (queueName, ms) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          changes.off(queueName, done);
          stopping.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        changes.on(queueName, done);
        stopping.signal.addEventListener('abort', done);
      }),
  };

  const service = createJsonService({
    targetPrefix: 'AmazonSQS',
    contentType: 'application/x-amz-json-1.0',
    actions,
    context,
    wireErrorType: (type) => `com.amazonaws.sqs#${type}`,
    errorHeaders: (error): Record<string, string> =>
      error.statusCode < 500
        ? { 'x-amzn-query-error': `${QUERY_ERROR_CODES[error.type] ?? error.type};Sender` }
        : {},
  });

  return {
    service,
    setEndpoint(url) {
      endpoint = url;
    },
    async close() {
      // End long polls first so their sockets do not hold the server open for up to 20 s.
      stopping.abort();
      await closeServer(service.server);
      store.flush();
    },
  };
}
