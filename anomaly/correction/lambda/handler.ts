/**
 * The correction loop as two Lambda functions on SQS event sources with ReportBatchItemFailures:
 * the correction handler on the request queue and the DLQ processor on the correction DLQ. Each record
 * goes through the same CorrectionService path the local polling loop uses. A message the service
 * acknowledged (handled, dead-lettered, stored as a failure) is done; one it postponed (busy claim,
 * history table unavailable, DLQ backoff) or that threw is reported as a batch item failure, so SQS
 * delivers it again once the visibility timeout the service set has passed.
 */
import { type AwsClients, createAwsClients } from '../../../consumers/aws/clients.ts';
import { createLogger, type Logger } from '../../../consumers/observability/logger.ts';
import { createMetrics, type Metrics } from '../../../consumers/observability/metrics.ts';
import { CorrectionService, type MessageDisposition } from '../service.ts';
import { type CorrectionLambdaConfig, correctionLambdaConfigFromEnv, resolveQueueUrls } from './config.ts';
import { receivedOf, type SqsBatchResponse, type SqsEvent } from './sqs-event.ts';

/** Which queue a function consumes. */
export type CorrectionQueue = 'requests' | 'dead-letters';

export type SqsHandler = (event: SqsEvent) => Promise<SqsBatchResponse>;

export interface CorrectionLambdaDeps {
  readonly service: Pick<CorrectionService, 'processRequest' | 'processDeadLetter' | 'publishMetrics'>;
  readonly logger: Logger;
}

/** Requests a warm container remembers for its stats (CorrectionRate, …); bounds its memory. */
const TRACKED_REQUESTS = 10_000;

export function createCorrectionLambda(queue: CorrectionQueue, deps: CorrectionLambdaDeps): SqsHandler {
  const { service } = deps;
  const dispose = (record: SqsEvent['Records'][number]): Promise<MessageDisposition> => {
    const received = receivedOf(record);
    if (received.problems.length > 0)
      deps.logger.warn('SQS record with unusable attributes; read with defaults', {
        messageId: received.messageId,
        problems: received.problems,
      });
    return queue === 'requests' ? service.processRequest(received) : service.processDeadLetter(received);
  };
  return async (event) => {
    const failures: { itemIdentifier: string }[] = [];
    const settle = async (entry: unknown): Promise<void> => {
      if (typeof entry !== 'object' || entry === null) {
        // Nothing to settle nor to report: there is no message here, only a broken event.
        deps.logger.error('SQS event record is not an object; skipped', {
          record: String(entry).slice(0, 200),
        });
        return;
      }
      const record = entry as SqsEvent['Records'][number];
      // Without an id, '' makes Lambda retry the whole batch rather than lose the message.
      const messageId = typeof record.messageId === 'string' ? record.messageId : '';
      try {
        if ((await dispose(record)) === 'postponed') failures.push({ itemIdentifier: messageId });
      } catch (error) {
        // Not settled, not deleted: SQS delivers it again, and after maxReceiveCount moves it on.
        failures.push({ itemIdentifier: messageId });
        deps.logger.warn('message not settled; SQS will deliver it again', { messageId, error });
      }
    };
    const records: readonly unknown[] = Array.isArray(event?.Records) ? event.Records : [];
    if (records !== event?.Records) deps.logger.error('not an SQS event: no Records array; nothing to do');
    // As the local loop: requests of a batch concurrently (claims keep them apart), dead letters in order.
    if (queue === 'requests') await Promise.all(records.map(settle));
    else for (const record of records) await settle(record);
    try {
      await service.publishMetrics();
    } catch (error) {
      // The counters stay recorded and go out with the next invocation's flush.
      deps.logger.warn('correction metrics not published', { error });
    }
    return { batchItemFailures: failures };
  };
}

/** The service for one function: the configured queues, table and buckets, with the given clients. */
export async function createCorrectionService(
  config: CorrectionLambdaConfig,
  clients: Pick<AwsClients, 'sqs' | 's3' | 'dynamodb'>,
  options: { readonly metrics: Metrics },
): Promise<CorrectionService> {
  const urls = await resolveQueueUrls(clients.sqs, config);
  return new CorrectionService(clients, urls, {
    table: config.table,
    bucket: config.bucket,
    buckets: config.buckets,
    maxDeadLetterAttempts: config.maxDeadLetterAttempts,
    maxTrackedRequests: TRACKED_REQUESTS,
    metrics: options.metrics,
  });
}

/**
 * A Lambda entry's `handler`: configuration, clients and service are created once per container, on the
 * first invocation. A failed start (a bad variable, SQS unreachable) is retried by the next invocation.
 */
export function correctionEntry(queue: CorrectionQueue): SqsHandler {
  let initialised: Promise<SqsHandler> | undefined;
  const init = async (): Promise<SqsHandler> => {
    const config = correctionLambdaConfigFromEnv();
    const clients = createAwsClients({ region: config.region, endpoints: config.endpoints });
    // Lambda ships stdout to CloudWatch Logs, where EMF lines become metrics. No dimensions: the
    // dashboard charts the correction metrics of both functions together.
    const metrics = createMetrics({ write: (line) => process.stdout.write(line) });
    const service = await createCorrectionService(config, clients, { metrics });
    const name = queue === 'requests' ? 'fleetstream-correction-handler' : 'fleetstream-dlq-processor';
    return createCorrectionLambda(queue, { service, logger: createLogger({ service: name }) });
  };
  return async (event) => {
    initialised ??= init().catch((error: unknown) => {
      initialised = undefined;
      throw error;
    });
    return (await initialised)(event);
  };
}
