/**
 * The sender: takes records in send order with a wall-clock due time, batches them (PutEvents: ≤ 10
 * entries and ≤ 256 KB per call; PutRecords: ≤ 500 records and ≤ 5 MiB), retries failed entries with
 * capped exponential backoff and full jitter, and reports every record's fate exactly once.
 *
 * Devices are spread over lanes; each lane sends one batch at a time, so a device's records leave in the
 * order given (apart from an entry retried after its batch-mates went through, which the ground truth
 * shows by its `sentAt`). Lanes run concurrently, which is what lets one producer keep up with a fleet.
 */
import type { FleetstreamError } from '../consumers/contract/errors.ts';
import type { SimRecord } from './inject.ts';
import { type BusEntry, busEntrySize, type StreamEntry } from './payloads.ts';
import type { Rng } from './random.ts';
import { type EntryOutcome, type EventBusPort, type StreamPort, toSendError } from './transport.ts';

/** PutEvents quotas (EventBridge API reference). */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
/** PutRecords quotas (Kinesis API reference). */
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface SenderSettings {
  /** Concurrent sending lanes; a device always uses the same one. @default 4 */
  readonly lanes: number;
  /** Longest a record waits in a part-filled batch, ms (like the KPL's RecordMaxBufferedTime). @default 50 */
  readonly maxBufferMs: number;
  /** Attempts per entry, including the first. @default 8 */
  readonly maxAttempts: number;
  /** First retry's backoff ceiling, ms; doubles per attempt. @default 50 */
  readonly backoffBaseMs: number;
  /** Largest backoff ceiling, ms. @default 5000 */
  readonly backoffMaxMs: number;
  /** Batches queued per lane before the producer waits for that lane. @default 2 */
  readonly maxQueuedBatchesPerLane: number;
}

export const DEFAULT_SENDER_SETTINGS: SenderSettings = {
  lanes: 4,
  maxBufferMs: 50,
  maxAttempts: 8,
  backoffBaseMs: 50,
  backoffMaxMs: 5_000,
  maxQueuedBatchesPerLane: 2,
};

export interface ScheduledRecord {
  readonly record: SimRecord;
  /** Wall-clock time (epoch ms) not to send before; undefined to send as soon as possible. */
  readonly dueMs: number | undefined;
}

export interface DeliveryResult {
  readonly delivered: boolean;
  /** Wall-clock time of the acknowledging response. */
  readonly sentAtMs?: number;
  readonly attempts: number;
  /** The last error code, for a record not delivered. */
  readonly error?: string;
}

export interface PathStats {
  calls: number;
  /** Entries sent, retries included. */
  entries: number;
  delivered: number;
  /** Entry retries (one per entry per extra attempt). */
  retried: number;
  /** Entries given up on after all attempts or a non-retryable error. */
  failed: number;
  /** Failed entries and failed calls, by error code. */
  errors: Record<string, number>;
}

export interface SendStats {
  /** Records taken from the schedule. */
  taken: number;
  /** Readings dropped on purpose (never sent). */
  dropped: number;
  eventbridge: PathStats;
  kinesis: PathStats;
}

export interface SenderOptions {
  readonly bus: EventBusPort;
  readonly stream: StreamPort;
  readonly settings: SenderSettings;
  readonly clock: Clock;
  /** Random stream for retry jitter (kept separate from the generator's). */
  readonly rng: Rng;
  /** Called once per record when its fate is known. */
  readonly onResult: (record: SimRecord, result: DeliveryResult) => void;
  /** Stops taking new records; batches already handed over still complete. */
  readonly signal?: AbortSignal;
}

type Path = 'eventbridge' | 'kinesis';

interface Lane {
  busBatch: SimRecord[];
  busBytes: number;
  streamBatch: SimRecord[];
  streamBytes: number;
  /** Wall time the oldest buffered record of this lane was added; Infinity when empty. */
  oldestMs: number;
  tail: Promise<void>;
  queued: number;
}

const newPathStats = (): PathStats => ({
  calls: 0,
  entries: 0,
  delivered: 0,
  retried: 0,
  failed: 0,
  errors: {},
});

export function newSendStats(): SendStats {
  return { taken: 0, dropped: 0, eventbridge: newPathStats(), kinesis: newPathStats() };
}

const streamEntrySize = (entry: StreamEntry): number =>
  entry.data.byteLength + Buffer.byteLength(entry.partitionKey);

/**
 * Sends every scheduled record, pacing by `dueMs`. `stats` is updated live (read it for progress) and
 * returned when every record's fate is known.
 */
export async function sendAll(
  schedule: Iterable<ScheduledRecord>,
  options: SenderOptions,
  stats: SendStats = newSendStats(),
): Promise<SendStats> {
  const { settings, clock, signal } = options;
  const lanes: Lane[] = Array.from({ length: settings.lanes }, () => ({
    busBatch: [],
    busBytes: 0,
    streamBatch: [],
    streamBytes: 0,
    oldestMs: Infinity,
    tail: Promise.resolve(),
    queued: 0,
  }));

  const dispatch = (lane: Lane, path: Path): void => {
    const batch = path === 'eventbridge' ? lane.busBatch : lane.streamBatch;
    if (batch.length === 0) return;
    if (path === 'eventbridge') {
      lane.busBatch = [];
      lane.busBytes = 0;
    } else {
      lane.streamBatch = [];
      lane.streamBytes = 0;
    }
    if (lane.busBatch.length === 0 && lane.streamBatch.length === 0) lane.oldestMs = Infinity;
    lane.queued += 1;
    lane.tail = lane.tail
      .then(() => sendBatch(path, batch, options, stats))
      .finally(() => {
        lane.queued -= 1;
      });
  };
  const flushLane = (lane: Lane): void => {
    dispatch(lane, 'eventbridge');
    dispatch(lane, 'kinesis');
  };

  const add = async (record: SimRecord): Promise<void> => {
    const lane = lanes[record.deviceIndex % lanes.length] as Lane;
    if (record.via === 'eventbridge') {
      const size = busEntrySize(record.bus as BusEntry);
      if (lane.busBytes + size > PUT_EVENTS_MAX_BYTES) dispatch(lane, 'eventbridge');
      lane.busBatch.push(record);
      lane.busBytes += size;
      if (lane.busBatch.length >= PUT_EVENTS_MAX_ENTRIES) dispatch(lane, 'eventbridge');
    } else {
      const size = streamEntrySize(record.stream as StreamEntry);
      if (lane.streamBytes + size > PUT_RECORDS_MAX_BYTES) dispatch(lane, 'kinesis');
      lane.streamBatch.push(record);
      lane.streamBytes += size;
      if (lane.streamBatch.length >= PUT_RECORDS_MAX_ENTRIES) dispatch(lane, 'kinesis');
    }
    const now = clock.now();
    if (lane.busBatch.length + lane.streamBatch.length > 0) {
      lane.oldestMs = Math.min(lane.oldestMs, now);
      if (now - lane.oldestMs >= settings.maxBufferMs) flushLane(lane);
    }
    // Backpressure: a lane that cannot keep up holds the producer back instead of queueing without bound.
    if (lane.queued > settings.maxQueuedBatchesPerLane) await lane.tail;
  };

  /** Waits until `dueMs`, sending part-filled batches whose buffer time runs out meanwhile. */
  const waitUntil = async (dueMs: number): Promise<void> => {
    for (;;) {
      const now = clock.now();
      if (now >= dueMs) return;
      let deadline = Infinity;
      for (const lane of lanes) deadline = Math.min(deadline, lane.oldestMs + settings.maxBufferMs);
      if (deadline <= dueMs) {
        if (deadline > now) await clock.sleep(deadline - now, signal);
        const after = clock.now();
        for (const lane of lanes) if (lane.oldestMs + settings.maxBufferMs <= after) flushLane(lane);
      } else {
        await clock.sleep(dueMs - now, signal);
      }
    }
  };

  try {
    for (const { record, dueMs } of schedule) {
      if (signal?.aborted) break;
      if (dueMs !== undefined) await waitUntil(dueMs);
      stats.taken += 1;
      if (record.via === 'none') {
        stats.dropped += 1;
        options.onResult(record, { delivered: false, attempts: 0 });
        continue;
      }
      await add(record);
    }
  } catch (error) {
    // An abort during a wait ends the run early; anything else is a bug worth surfacing.
    if (!signal?.aborted) throw error;
  }
  for (const lane of lanes) flushLane(lane);
  await Promise.all(lanes.map((lane) => lane.tail));
  return stats;
}

async function sendBatch(
  path: Path,
  batch: SimRecord[],
  options: SenderOptions,
  stats: SendStats,
): Promise<void> {
  const { settings, clock, rng } = options;
  const pathStats = stats[path];
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    pathStats.calls += 1;
    pathStats.entries += pending.length;
    let outcomes: EntryOutcome[];
    try {
      outcomes =
        path === 'eventbridge'
          ? await options.bus.putEvents(pending.map((r) => r.bus as BusEntry))
          : await options.stream.putRecords(pending.map((r) => r.stream as StreamEntry));
    } catch (error) {
      const failure: FleetstreamError = toSendError(path, error);
      outcomes = pending.map(() => ({ ok: false, code: failure.code, retryable: failure.retryable }));
    }
    const now = clock.now();
    const retry: SimRecord[] = [];
    pending.forEach((record, i) => {
      const outcome = outcomes[i] ?? { ok: false, code: 'MissingEntryResult', retryable: true };
      if (outcome.ok) {
        pathStats.delivered += 1;
        options.onResult(record, { delivered: true, sentAtMs: now, attempts: attempt });
        return;
      }
      const code = outcome.code ?? 'UnknownError';
      pathStats.errors[code] = (pathStats.errors[code] ?? 0) + 1;
      if (outcome.retryable === true && attempt < settings.maxAttempts) {
        retry.push(record);
      } else {
        pathStats.failed += 1;
        options.onResult(record, { delivered: false, attempts: attempt, error: code });
      }
    });
    if (retry.length > 0) {
      pathStats.retried += retry.length;
      const ceiling = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** (attempt - 1));
      // Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter") spreads retries of many lanes.
      await clock.sleep(rng.uniform(0, ceiling));
    }
    pending = retry;
  }
}
