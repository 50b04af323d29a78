/**
 * Delivers matched events to rule targets the way EventBridge does: asynchronously after PutEvents,
 * with retries and exponential backoff under the target's RetryPolicy, then to the target's
 * dead-letter queue with EventBridge's error attributes. Nothing is dropped silently: an event that
 * cannot reach a DLQ either is reported (stderr and `failures()`).
 *
 * One queue per target, drained serially, so events for one target leave in the order they were put
 * (EventBridge itself does not promise order; keeping it locally makes runs reproducible).
 */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { evaluateJsonPath, type MatchedEvent } from './model.ts';

/** EventBridge's defaults for a target without a RetryPolicy. */
const DEFAULT_MAX_RETRY_ATTEMPTS = 185;
const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
/** Kinesis PutRecords takes at most 500 entries per call. */
const KINESIS_BATCH = 500;
/** Kinesis partition keys are 1–256 Unicode characters. */
const MAX_PARTITION_KEY_LENGTH = 256;

export interface DeliveryFailure {
  readonly eventId: string;
  readonly ruleArn: string;
  readonly targetArn: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** Where the event ended up: the DLQ ARN, or undefined when it could not be dead-lettered. */
  readonly deadLetterArn?: string;
}

export interface DeliveryStats {
  delivered: number;
  retried: number;
  deadLettered: number;
  /** Events neither delivered nor dead-lettered (no DLQ configured, or the DLQ failed). */
  lost: number;
}

export interface DispatcherOptions {
  readonly kinesis: KinesisClient;
  readonly sqs: SQSClient;
  /** First retry delay; doubles per attempt with full jitter. @default 100 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
}

interface Pending {
  readonly event: MatchedEvent;
  readonly enqueuedMs: number;
  attempts: number;
}

class PermanentError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function errorCode(error: unknown): string {
  if (error instanceof PermanentError) return error.code;
  return error instanceof Error ? error.name : 'InternalException';
}

function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentError) return false;
  const details = error as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; name?: string };
  const status = details.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500 || status === 429 || details.$retryable !== undefined)
    return true;
  return /Throttl|ProvisionedThroughputExceeded|LimitExceeded|KMSThrottling/.test(details.name ?? '');
}

/** The bytes EventBridge sends: the whole envelope, or what InputPath / Input select. */
function payloadOf({ envelope, target }: MatchedEvent): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined)
    return JSON.stringify(evaluateJsonPath(envelope, target.InputPath) ?? null);
  return JSON.stringify(envelope);
}

function partitionKeyOf({ envelope, target }: MatchedEvent): string {
  const path = target.KinesisParameters?.PartitionKeyPath;
  // Without a path EventBridge uses the event id, which scatters a device's events over shards.
  if (path === undefined) return envelope.id;
  const value = evaluateJsonPath(envelope, path);
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new PermanentError(
      'InvalidPartitionKey',
      `partition key path ${path} did not resolve to a string or number`,
    );
  }
  const key = String(value);
  if (key.length === 0 || key.length > MAX_PARTITION_KEY_LENGTH) {
    throw new PermanentError('InvalidPartitionKey', `partition key from ${path} must be 1-256 characters`);
  }
  return key;
}

export class TargetDispatcher {
  private readonly queues = new Map<string, Pending[]>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly failureLog: DeliveryFailure[] = [];
  private readonly stopping = new AbortController();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  readonly stats: DeliveryStats = { delivered: 0, retried: 0, deadLettered: 0, lost: 0 };

  constructor(private readonly options: DispatcherOptions) {
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
  }

  dispatch(event: MatchedEvent): void {
    const key = `${event.rule.arn}|${event.target.Id}`;
    const queue = this.queues.get(key) ?? [];
    this.queues.set(key, queue);
    queue.push({ event, enqueuedMs: Date.now(), attempts: 0 });
    if (!this.running.has(key)) {
      const run = this.drainQueue(queue).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
  }

  /** Resolves once every event put so far was delivered, dead-lettered or reported. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  failures(): readonly DeliveryFailure[] {
    return this.failureLog;
  }

  /** Stops retrying; events still queued are reported as lost. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.drain();
  }

  private async drainQueue(queue: Pending[]): Promise<void> {
    while (queue.length > 0) {
      if (this.stopping.signal.aborted) {
        for (const pending of queue.splice(0))
          await this.giveUp(pending, 'Stopped', 'the local stack stopped before delivery');
        return;
      }
      const batch = queue.slice(0, KINESIS_BATCH);
      const retry = await this.deliverBatch(batch);
      queue.splice(0, batch.length, ...retry);
      if (retry.length > 0) {
        const attempt = Math.max(...retry.map((pending) => pending.attempts));
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        await this.sleep(Math.random() * ceiling);
      }
    }
  }

  /** Returns the events to retry, in their original order. */
  private async deliverBatch(batch: Pending[]): Promise<Pending[]> {
    const target = batch[0]!.event.target;
    const arn = target.Arn;
    const outcomes: unknown[] = new Array(batch.length).fill(undefined);
    try {
      if (arn.startsWith('arn:aws:kinesis:')) await this.putToKinesis(arn, batch, outcomes);
      else if (arn.startsWith('arn:aws:sqs:')) await this.sendToSqs(arn, batch, outcomes);
      else outcomes.fill(new PermanentError('UnsupportedTarget', `target ${arn} is not supported locally`));
    } catch (error) {
      outcomes.fill(error);
    }
    const retry: Pending[] = [];
    for (const [index, pending] of batch.entries()) {
      const outcome = outcomes[index];
      if (outcome === undefined) {
        this.stats.delivered += 1;
        continue;
      }
      pending.attempts += 1;
      const policy = pending.event.target.RetryPolicy ?? {};
      const maxAttempts = policy.MaximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
      const maxAgeMs = (policy.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
      if (!isRetryable(outcome)) {
        await this.giveUp(pending, errorCode(outcome), String((outcome as Error).message), undefined);
      } else if (pending.attempts > maxAttempts) {
        await this.giveUp(
          pending,
          errorCode(outcome),
          String((outcome as Error).message),
          'MaximumRetryAttempts',
        );
      } else if (Date.now() - pending.enqueuedMs > maxAgeMs) {
        await this.giveUp(
          pending,
          errorCode(outcome),
          String((outcome as Error).message),
          'MaximumEventAgeInSeconds',
        );
      } else {
        this.stats.retried += 1;
        retry.push(pending);
      }
    }
    return retry;
  }

  private async putToKinesis(arn: string, batch: Pending[], outcomes: unknown[]): Promise<void> {
    const entries: { index: number; data: string; key: string }[] = [];
    for (const [index, pending] of batch.entries()) {
      try {
        entries.push({ index, data: payloadOf(pending.event), key: partitionKeyOf(pending.event) });
      } catch (error) {
        outcomes[index] = error;
      }
    }
    if (entries.length === 0) return;
    const result = await this.options.kinesis.send(
      new PutRecordsCommand({
        // kinesalite predates StreamARN parameters; the name is the ARN's last segment.
        StreamName: arn.slice(arn.lastIndexOf('/') + 1),
        Records: entries.map((entry) => ({ Data: Buffer.from(entry.data), PartitionKey: entry.key })),
      }),
    );
    result.Records?.forEach((record, i) => {
      if (record.ErrorCode !== undefined) {
        const error = new Error(record.ErrorMessage ?? record.ErrorCode);
        error.name = record.ErrorCode;
        outcomes[entries[i]!.index] = error;
      }
    });
  }

  private async sendToSqs(arn: string, batch: Pending[], outcomes: unknown[]): Promise<void> {
    const { QueueUrl } = await this.options.sqs.send(
      new GetQueueUrlCommand({ QueueName: arn.split(':').pop() }),
    );
    for (const [index, pending] of batch.entries()) {
      try {
        await this.options.sqs.send(
          new SendMessageCommand({ QueueUrl, MessageBody: payloadOf(pending.event) }),
        );
      } catch (error) {
        outcomes[index] = error;
      }
    }
  }

  private async giveUp(pending: Pending, code: string, message: string, exhausted?: string): Promise<void> {
    const { envelope, rule, target } = pending.event;
    const failure = {
      eventId: envelope.id,
      ruleArn: rule.arn,
      targetArn: target.Arn,
      errorCode: code,
      errorMessage: message,
    };
    const dlqArn = target.DeadLetterConfig?.Arn;
    if (dlqArn !== undefined && !this.stopping.signal.aborted) {
      try {
        const { QueueUrl } = await this.options.sqs.send(
          new GetQueueUrlCommand({ QueueName: dlqArn.split(':').pop() }),
        );
        // The attribute names EventBridge puts on dead-lettered events.
        const attributes: Record<string, string> = {
          RULE_ARN: rule.arn,
          TARGET_ARN: target.Arn,
          ERROR_CODE: code,
          ERROR_MESSAGE: message.slice(0, 1024) || code,
          RETRY_ATTEMPTS: String(Math.max(0, pending.attempts - 1)),
        };
        if (exhausted !== undefined) attributes.EXHAUSTED_RETRY_CONDITION = exhausted;
        await this.options.sqs.send(
          new SendMessageCommand({
            QueueUrl,
            MessageBody: JSON.stringify(envelope),
            MessageAttributes: Object.fromEntries(
              Object.entries(attributes).map(([name, value]) => [
                name,
                { DataType: 'String', StringValue: value },
              ]),
            ),
          }),
        );
        this.stats.deadLettered += 1;
        this.record({ ...failure, deadLetterArn: dlqArn });
        return;
      } catch (error) {
        failure.errorMessage = `${message}; dead-letter queue ${dlqArn} failed: ${(error as Error).message}`;
      }
    }
    this.stats.lost += 1;
    this.record(failure);
    process.stderr.write(
      `${JSON.stringify({ level: 'ERROR', component: 'local-eventbridge', msg: 'event not delivered', ...failure })}\n`,
    );
  }

  private record(failure: DeliveryFailure): void {
    this.failureLog.push(failure);
    // Bounded so a long local run with a broken target cannot grow memory without limit.
    if (this.failureLog.length > 1000) this.failureLog.shift();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopping.signal.addEventListener('abort', done);
    });
  }
}
