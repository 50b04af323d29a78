/**
 * The correction loop: receive requests → handle → acknowledge, and the DLQ processor beside it:
 * retry dead letters with backoff, then move them to failure storage. Every request ends in exactly one
 * of three places — corrected (a new version, or already covered / confirmed), the DLQ, or failure
 * storage — and the stats say how many are where.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type FleetConfig, parseFleetConfig } from '../../consumers/config.ts';
import type { Metrics } from '../../consumers/observability/metrics.ts';
import { backoffDelayMs, sleep } from '../../consumers/sinks/retry.ts';
import { storeFailure } from './failures.ts';
import { type CorrectionHandler, createCorrectionHandler, type HandleOutcome } from './handler.ts';
import { CorrectionHistory } from './history.ts';
import { type CorrectionMessage, parseCorrectionMessage, parseDeadLetter, requestKey } from './messages.ts';
import { CORRECTION_METRICS, CORRECTION_NAMES, DeadLetterReason } from './names.ts';
import {
  acknowledge,
  type CorrectionQueueNames,
  type CorrectionQueueUrls,
  ensureCorrectionQueues,
  postpone,
  queueDepth,
  type Received,
  receive,
  sendCorrectionRequests,
  sendDeadLetter,
} from './queues.ts';
import type { AnomalousReadings } from './recalculate.ts';
import { S3Store, type StoreBuckets } from './s3-store.ts';
import { verifyWindows } from './verifier.ts';

/** The run summary's `corrections` section. */
export interface CorrectionStats {
  /** Distinct requests (request id + seq) received. */
  requested: number;
  /** Requests that ended healed automatically: a new version, or already covered / confirmed. */
  corrected: number;
  /** Of `corrected`, those that wrote a new version. */
  superseded: number;
  /** Requests now waiting in the correction DLQ. */
  deadLettered: number;
  /** Requests moved to failure storage after the DLQ processor's last attempt. */
  failed: number;
  /** Items corrected automatically more than once (must stay 0). */
  loops: number;
  /** Requests now in the DLQ or failure storage, by dead-letter reason (ALREADY_CORRECTED, …). */
  notCorrectedBy: Record<string, number>;
  /** The same counts per correction reason (LATE_EVENT, GAP_FILLED, ANOMALY, MISMATCH). */
  byReason: Record<string, { requested: number; corrected: number; deadLettered: number; failed: number }>;
}

export interface CorrectionOptions {
  /** @default parseFleetConfig() — must match the stream's */
  readonly config?: FleetConfig;
  /** @default 'fleetstream-data' */
  readonly bucket?: string;
  /** Separate results, raw-archive and failure buckets (as the CDK stack deploys). @default all in `bucket` */
  readonly buckets?: StoreBuckets;
  /** History table. @default 'fleetstream-corrections' */
  readonly table?: string;
  readonly queues?: CorrectionQueueNames;
  /** @default 'exclude' */
  readonly anomalousReadings?: AnomalousReadings;
  /** @default 3600000 (ms) */
  readonly warmupMs?: number;
  /** Attempts the DLQ processor gives a dead letter (receives included) before failure storage. @default 5 */
  readonly maxDeadLetterAttempts?: number;
  /** First retry delay of a dead letter; doubles per attempt, capped at 15 min. @default 30 (s) */
  readonly deadLetterBaseDelaySeconds?: number;
  /** Fraction of unflagged windows the verifier re-derives. @default 0.05 */
  readonly verifyRate?: number;
  /** Idle poll interval when both queues are empty, ms. @default 1000 */
  readonly pollIntervalMs?: number;
  readonly metrics?: Metrics;
  /**
   * Requests the stats remember (oldest forgotten first). A long-lived Lambda container sees requests
   * without end; the stats then describe the most recent ones. @default unbounded
   */
  readonly maxTrackedRequests?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * What became of one received message. `acknowledged`: it was settled (handled, dead-lettered or stored
 * as a failure) and deleted from its queue. `postponed`: it stays queued, hidden for a while (busy
 * claim, history table unavailable, DLQ backoff), and must come again.
 */
export type MessageDisposition = 'acknowledged' | 'postponed';

export interface CorrectionClients {
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
}

type Final = 'corrected' | 'dead-lettered' | 'failed' | 'pending';

export class CorrectionService {
  readonly urls: CorrectionQueueUrls;
  readonly store: S3Store;
  readonly history: CorrectionHistory;
  readonly handler: CorrectionHandler;
  private readonly sqs: SQSClient;
  private readonly config: FleetConfig;
  private readonly options: CorrectionOptions;
  private readonly now: () => number;
  /** Where each request is now; one entry per request key, so repeats and retries never double count. */
  private readonly states = new Map<string, Final>();
  private readonly reasons = new Map<string, string>();
  /** Last dead-letter reason per request key. */
  private readonly letterReasons = new Map<string, string>();
  private superseded = 0;
  private loops = 0;

  constructor(clients: CorrectionClients, urls: CorrectionQueueUrls, options: CorrectionOptions = {}) {
    this.sqs = clients.sqs;
    this.urls = urls;
    this.options = options;
    this.config = options.config ?? parseFleetConfig();
    this.now = options.now ?? Date.now;
    this.store = new S3Store({
      s3: clients.s3,
      bucket: options.bucket ?? CORRECTION_NAMES.bucket,
      ...(options.buckets === undefined ? {} : { buckets: options.buckets }),
    });
    this.history = new CorrectionHistory(clients.dynamodb, options.table ?? CORRECTION_NAMES.table);
    this.handler = createCorrectionHandler({
      store: this.store,
      history: this.history,
      config: this.config,
      ...(options.anomalousReadings === undefined ? {} : { anomalousReadings: options.anomalousReadings }),
      ...(options.warmupMs === undefined ? {} : { warmupMs: options.warmupMs }),
      now: this.now,
    });
  }

  stats(): CorrectionStats {
    const stats: CorrectionStats = {
      requested: this.states.size,
      corrected: 0,
      superseded: this.superseded,
      deadLettered: 0,
      failed: 0,
      loops: this.loops,
      notCorrectedBy: {},
      byReason: {},
    };
    for (const [key, state] of this.states) {
      const reason = this.reasons.get(key) ?? 'MALFORMED';
      stats.byReason[reason] ??= { requested: 0, corrected: 0, deadLettered: 0, failed: 0 };
      const perReason = stats.byReason[reason];
      perReason.requested++;
      if (state === 'corrected') {
        stats.corrected++;
        perReason.corrected++;
      } else if (state === 'dead-lettered' || state === 'failed') {
        const why = this.letterReasons.get(key) ?? 'UNKNOWN';
        stats.notCorrectedBy[why] = (stats.notCorrectedBy[why] ?? 0) + 1;
      }
      if (state === 'dead-lettered') {
        stats.deadLettered++;
        perReason.deadLettered++;
      } else if (state === 'failed') {
        stats.failed++;
        perReason.failed++;
      }
    }
    return stats;
  }

  /** Receives and handles one batch of requests; returns how many messages it took. */
  async processRequests(): Promise<number> {
    const batch = await receive(this.sqs, this.urls.queueUrl, { max: 10 });
    await Promise.all(batch.map((message) => this.processRequest(message)));
    return batch.length;
  }

  /**
   * Handles one message of the request queue (from `receive` here, or from a Lambda SQS event). The
   * message is deleted as soon as it is settled, so a later failure in the same batch cannot make SQS
   * deliver it again and dead-letter it twice.
   */
  async processRequest(received: Received): Promise<MessageDisposition> {
    const parsed = parseCorrectionMessage(received.body);
    if (!parsed.ok) {
      await sendDeadLetter(this.sqs, this.urls.deadLetterQueueUrl, {
        reason: DeadLetterReason.MalformedRequest,
        original: received.body,
        error: { code: DeadLetterReason.MalformedRequest, message: parsed.message },
        nowMs: this.now(),
      });
      this.track(`malformed:${received.messageId}`, 'dead-lettered');
      this.letterReasons.set(`malformed:${received.messageId}`, DeadLetterReason.MalformedRequest);
      await acknowledge(this.sqs, this.urls.queueUrl, received);
      return 'acknowledged';
    }
    const key = requestKey(parsed.value.request);
    if (!this.states.has(key)) {
      this.track(key, 'pending');
      // Per request, not per receive: a busy request is received again and must not count twice.
      this.options.metrics?.count(CORRECTION_METRICS.requested);
    }
    this.reasons.set(key, parsed.value.request.reason);
    const outcome = await this.tryHandle(parsed.value);
    if (outcome === undefined || outcome.status === 'busy') {
      // Another handler holds the claim (or the history table did not answer): SQS redelivers later.
      await postpone(this.sqs, this.urls.queueUrl, received, 5);
      return 'postponed';
    }
    if (outcome.status === 'dead-letter') {
      await sendDeadLetter(this.sqs, this.urls.deadLetterQueueUrl, {
        reason: outcome.reason,
        original: received.body,
        message: parsed.value,
        error: outcome.error,
        nowMs: this.now(),
      });
      this.letterReasons.set(key, outcome.reason);
      this.settle(key, 'dead-lettered');
    } else {
      this.resolved(key, outcome);
    }
    await acknowledge(this.sqs, this.urls.queueUrl, received);
    return 'acknowledged';
  }

  /** Receives one batch of dead letters: retry, back off, or store as a failure after the last attempt. */
  async processDeadLetters(): Promise<number> {
    const batch = await receive(this.sqs, this.urls.deadLetterQueueUrl, { max: 10 });
    for (const received of batch) await this.processDeadLetter(received);
    return batch.length;
  }

  /** Handles one message of the correction DLQ (from `receive` here, or from a Lambda SQS event). */
  async processDeadLetter(received: Received): Promise<MessageDisposition> {
    const maxAttempts = this.options.maxDeadLetterAttempts ?? 5;
    const letter = parseDeadLetter(received.body);
    // A body that is not our dead letter was moved here by SQS's own redrive (a poison request).
    const original = letter.ok ? letter.value.original : received.body;
    const parsedRequest =
      letter.ok && letter.value.message !== undefined
        ? { ok: true as const, value: letter.value.message }
        : parseCorrectionMessage(original);
    const message = parsedRequest.ok ? parsedRequest.value : undefined;
    const key = message === undefined ? `malformed:${received.messageId}` : requestKey(message.request);
    if (message !== undefined) this.reasons.set(key, message.request.reason);
    let reason: string = letter.ok ? letter.value.reason : DeadLetterReason.MalformedRequest;
    let lastError = letter.ok
      ? letter.value.error
      : { code: 'NOT_A_DEAD_LETTER', message: 'moved by SQS redrive' };
    if (message !== undefined) {
      const outcome = await this.tryHandle(message);
      if (outcome !== undefined && outcome.status !== 'busy' && outcome.status !== 'dead-letter') {
        this.resolved(key, outcome);
        await acknowledge(this.sqs, this.urls.deadLetterQueueUrl, received);
        return 'acknowledged';
      }
      if (outcome?.status === 'dead-letter') {
        reason = outcome.reason;
        lastError = outcome.error;
      }
      this.letterReasons.set(key, reason);
    }
    // A malformed body cannot get better by waiting: store it at once.
    if (message !== undefined && received.receiveCount < maxAttempts) {
      const base = this.options.deadLetterBaseDelaySeconds ?? 30;
      await postpone(
        this.sqs,
        this.urls.deadLetterQueueUrl,
        received,
        Math.min(900, base * 2 ** (received.receiveCount - 1)),
      );
      this.settle(key, 'dead-lettered');
      return 'postponed';
    }
    const storedAtMs = this.now();
    const history =
      message === undefined ? undefined : await this.history.get(resultIdOf(message, this.config.windowMs));
    await storeFailure(this.store, {
      v: 1,
      reason,
      requestKey: key,
      originalBase64: Buffer.from(original, 'utf8').toString('base64'),
      ...(message === undefined ? {} : { message }),
      ...(history === undefined ? {} : { history }),
      ...(lastError === undefined ? {} : { lastError }),
      attempts: received.receiveCount,
      firstDeadLetteredAtMs: letter.ok ? letter.value.deadLetteredAtMs : received.sentAtMs,
      storedAtMs,
    });
    this.settle(key, 'failed');
    this.options.metrics?.count(CORRECTION_METRICS.failures);
    await acknowledge(this.sqs, this.urls.deadLetterQueueUrl, received);
    return 'acknowledged';
  }

  /** Runs the verifier over [fromMs, toMs) and queues a MISMATCH request per differing window. */
  async verify(fromMs: number, toMs: number): Promise<{ checked: number; mismatches: number }> {
    const report = await verifyWindows(
      {
        store: this.store,
        config: this.config,
        ...(this.options.verifyRate === undefined ? {} : { rate: this.options.verifyRate }),
        ...(this.options.warmupMs === undefined ? {} : { warmupMs: this.options.warmupMs }),
      },
      fromMs,
      toMs,
    );
    await sendCorrectionRequests(this.sqs, this.urls.queueUrl, report.mismatches);
    this.options.metrics?.count(CORRECTION_METRICS.verifiedWindows, report.checked);
    this.options.metrics?.count(CORRECTION_METRICS.verifierMismatches, report.mismatches.length);
    return { checked: report.checked, mismatches: report.mismatches.length };
  }

  /** Handles requests and dead letters until both queues stay empty (tests, benchmarks, end of a replay). */
  async drain(options: { readonly maxRounds?: number } = {}): Promise<CorrectionStats> {
    const maxRounds = options.maxRounds ?? 10_000;
    for (let round = 0; round < maxRounds; round++) {
      const taken = (await this.processRequests()) + (await this.processDeadLetters());
      if (taken === 0 && (await queueDepth(this.sqs, this.urls.queueUrl)) === 0) break;
    }
    await this.publishMetrics();
    return this.stats();
  }

  async publishMetrics(): Promise<void> {
    const metrics = this.options.metrics;
    if (metrics === undefined) return;
    const stats = this.stats();
    metrics.gauge(
      CORRECTION_METRICS.dlqDepth,
      await queueDepth(this.sqs, this.urls.deadLetterQueueUrl),
      'Count',
    );
    metrics.gauge(
      CORRECTION_METRICS.rate,
      stats.requested === 0 ? 1 : stats.corrected / stats.requested,
      'None',
    );
    metrics.gauge(CORRECTION_METRICS.loops, stats.loops, 'Count');
    metrics.flush();
  }

  private async tryHandle(message: CorrectionMessage): Promise<HandleOutcome | undefined> {
    try {
      return await this.handler.handle(message);
    } catch {
      // Only the history table itself failing lands here; the message stays queued and is retried.
      return undefined;
    }
  }

  private resolved(key: string, outcome: HandleOutcome): void {
    if (outcome.status === 'corrected') {
      this.superseded++;
      if (outcome.loop) this.loops++;
      this.options.metrics?.count(CORRECTION_METRICS.written);
    }
    this.options.metrics?.count(CORRECTION_METRICS.corrected);
    this.settle(key, 'corrected');
  }

  private settle(key: string, state: Final): void {
    // A request already healed stays healed: a repeat that dead-letters does not undo it.
    if (this.states.get(key) === 'corrected') return;
    if (state === 'dead-lettered' && this.states.get(key) !== 'dead-lettered')
      this.options.metrics?.count(CORRECTION_METRICS.deadLettered);
    this.track(key, state);
  }

  private track(key: string, state: Final): void {
    this.states.set(key, state);
    const limit = this.options.maxTrackedRequests ?? Number.POSITIVE_INFINITY;
    // Maps iterate in insertion order: the first key is the oldest request.
    while (this.states.size > limit) {
      const oldest = this.states.keys().next().value as string;
      this.states.delete(oldest);
      this.reasons.delete(oldest);
      this.letterReasons.delete(oldest);
    }
  }
}

function resultIdOf(message: CorrectionMessage, windowMs: number): string {
  const { request } = message;
  const start =
    request.windowStart === undefined
      ? Math.floor(message.eventMs / windowMs) * windowMs
      : Date.parse(request.windowStart);
  return `${request.deviceId}:w:${start}`;
}

export interface RunningCorrections {
  readonly service: CorrectionService;
  stats(): CorrectionStats;
  /** Stops polling after the current batch; resolves when the loop has exited. */
  stop(): Promise<void>;
}

/**
 * Creates the queues (idempotent) and runs the correction loop and the DLQ processor until `stop()`.
 * The pipeline calls this at start-up with its injected clients and adds `stats()` to its run summary.
 */
export async function startCorrections(
  clients: CorrectionClients,
  options: CorrectionOptions = {},
): Promise<RunningCorrections> {
  const urls = await ensureCorrectionQueues(clients.sqs, options.queues);
  const service = new CorrectionService(clients, urls, options);
  const abort = new AbortController();
  const pollMs = options.pollIntervalMs ?? 1000;
  const loop = (async () => {
    let idleRounds = 0;
    while (!abort.signal.aborted) {
      try {
        const taken = (await service.processRequests()) + (await service.processDeadLetters());
        if (taken === 0) {
          if (++idleRounds % 10 === 0) await service.publishMetrics();
          await sleep(pollMs, abort.signal);
        } else idleRounds = 0;
      } catch {
        // SQS or S3 unreachable: back off and keep going; nothing was acknowledged, so nothing is lost.
        await sleep(backoffDelayMs(Math.min(idleRounds++, 6), { baseDelayMs: pollMs }), abort.signal);
      }
    }
  })();
  return {
    service,
    stats: () => service.stats(),
    async stop() {
      abort.abort();
      await loop;
      await service.publishMetrics().catch(() => undefined);
    },
  };
}
