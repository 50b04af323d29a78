/**
 * Retry discipline shared by the sinks and the shard worker: capped exponential backoff with full
 * jitter (delay = random(0, min(cap, base·2^attempt))), so workers that were throttled together do not
 * retry together. See "Exponential Backoff And Jitter", AWS Architecture Blog.
 */

export interface BackoffOptions {
  /** First delay's upper bound. @default 100 (ms) */
  readonly baseDelayMs?: number;
  /** Upper bound of any one delay. @default 5000 (ms) */
  readonly maxDelayMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Delay before retry number `attempt` (0 = first retry). */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 5000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Error names AWS services use for throttling and limits (Kinesis, Firehose, SQS, DynamoDB, S3). */
const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'KMSThrottlingException',
]);

/** Transport errors worth retrying: the request may not have reached the service at all. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND']);

/** True for throttling, 5xx and connection failures; false for validation and other client errors. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: unknown;
    code?: unknown;
    retryable?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $retryable?: unknown;
  };
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.retryable === true || e.$retryable !== undefined) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return e.$fault === 'server';
}
