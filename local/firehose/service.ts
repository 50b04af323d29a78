/**
 * Firehose stand-in (AWS JSON 1.1, `X-Amz-Target: Firehose_20150804.<Action>`) delivering to S3 through
 * the real S3 client. Router, the buffer clock and the test hooks; each action lives in `actions/`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type Action, closeServer, createJsonService, type JsonService } from '../wire/json-server.ts';
import { loadState } from '../wire/state-file.ts';
import { createDeliveryStream } from './actions/createDeliveryStream.ts';
import { deleteDeliveryStream } from './actions/deleteDeliveryStream.ts';
import { describeDeliveryStream } from './actions/describeDeliveryStream.ts';
import { listDeliveryStreams } from './actions/listDeliveryStreams.ts';
import { putRecord } from './actions/putRecord.ts';
import { putRecordBatch } from './actions/putRecordBatch.ts';
import {
  type Buffer64,
  type DeliveryReport,
  type DeliveryStreamState,
  deliverBuffers,
  type FirehoseContext,
  type FirehoseState,
  type RecordFailureRule,
} from './streams.ts';

export type { DeliveryReport, RecordFailureRule } from './streams.ts';

const actions: Record<string, Action<FirehoseContext>> = {
  CreateDeliveryStream: createDeliveryStream,
  DescribeDeliveryStream: describeDeliveryStream,
  ListDeliveryStreams: listDeliveryStreams,
  DeleteDeliveryStream: deleteDeliveryStream,
  PutRecord: putRecord,
  PutRecordBatch: putRecordBatch,
};

/** Kept for inspection; older reports are dropped so a long local run stays bounded. */
const MAX_REPORTS = 1000;

export interface FirehoseStandInOptions {
  readonly region: string;
  readonly accountId: string;
  /** Client for the destination bucket (s3rver locally). */
  readonly s3: S3Client;
  /** How often buffers are checked against their IntervalInSeconds, ms. */
  readonly tickMs: number;
  /** JSON file holding delivery streams and buffered records across restarts. @default in-memory */
  readonly statePath?: string;
}

export interface FirehoseStandIn {
  readonly service: JsonService;
  /**
   * Delivers every buffered record now (all streams, or one), regardless of BufferingHints. Resolves with
   * what was written; rejects if an S3 upload failed (those records stay buffered and are retried).
   */
  flush(deliveryStream?: string): Promise<DeliveryReport[]>;
  /** Makes matching records fail per record (PutRecordBatch) or per call (PutRecord) until cleared. */
  failRecords(rule: RecordFailureRule): void;
  clearRecordFailures(): void;
  /** Recent deliveries and delivery errors, oldest first. */
  deliveries(): readonly DeliveryReport[];
  /** Delivers what is buffered when not persisting (so a Ctrl-C loses nothing), then stops. */
  close(): Promise<void>;
}

interface ActiveRule {
  readonly rule: RecordFailureRule;
  matched: number;
  failed: number;
}

export function createFirehoseStandIn(options: FirehoseStandInOptions): FirehoseStandIn {
  const store = loadState<FirehoseState>(options.statePath, () => ({ streams: {} }));
  const rules: ActiveRule[] = [];
  const reports: DeliveryReport[] = [];
  const inFlight = new Set<Promise<void>>();

  const report = (entry: DeliveryReport): void => {
    reports.push(entry);
    if (reports.length > MAX_REPORTS) reports.shift();
    // A failed upload must not go unnoticed; the records stay buffered and the next tick retries.
    if (entry.error !== undefined) {
      process.stderr.write(`${JSON.stringify({ level: 'WARN', component: 'local-firehose', ...entry })}\n`);
    }
  };

  const deliver = (stream: DeliveryStreamState, select: (buffer: Buffer64) => boolean): Promise<void> => {
    const running = deliverBuffers(context, stream, select, report);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
    return running;
  };

  const context: FirehoseContext = {
    store,
    region: options.region,
    accountId: options.accountId,
    s3: options.s3,
    now: () => Date.now(),
    injectedFailure(streamName, data) {
      for (const active of rules) {
        const { rule } = active;
        if (rule.deliveryStream !== undefined && rule.deliveryStream !== streamName) continue;
        if (rule.match !== undefined && !rule.match(data)) continue;
        if (active.failed >= (rule.times ?? Number.POSITIVE_INFINITY)) continue;
        active.matched += 1;
        // Deterministic spread: the n-th match fails when it crosses the next multiple of 1/fraction.
        const fraction = rule.fraction ?? 1;
        if (Math.floor(active.matched * fraction) > Math.floor((active.matched - 1) * fraction)) {
          active.failed += 1;
          return rule.errorCode ?? 'ServiceUnavailableException';
        }
      }
      return undefined;
    },
    deliverFull(stream) {
      if (
        Object.values(stream.buffers).some((buffer) => buffer.bytes >= stream.destination.bufferSizeBytes)
      ) {
        void deliver(stream, (buffer) => buffer.bytes >= stream.destination.bufferSizeBytes);
      }
    },
  };

  const timer = setInterval(() => {
    const now = context.now();
    for (const stream of Object.values(store.state.streams)) {
      const due = (buffer: Buffer64) => now - buffer.firstArrivalMs >= stream.destination.bufferIntervalMs;
      if (Object.values(stream.buffers).some(due)) void deliver(stream, due);
    }
  }, options.tickMs);
  timer.unref();

  const service = createJsonService({
    targetPrefix: 'Firehose_20150804',
    contentType: 'application/x-amz-json-1.1',
    actions,
    context,
    // Room for a 4 MiB batch in base64 plus JSON framing; the 4 MiB limit itself is checked per action.
    maxRequestBytes: 8 * 1024 * 1024,
  });

  const flush = async (deliveryStream?: string): Promise<DeliveryReport[]> => {
    await Promise.all([...inFlight]);
    const first = reports.length;
    const streams = Object.values(store.state.streams).filter(
      (stream) => deliveryStream === undefined || stream.name === deliveryStream,
    );
    await Promise.all(streams.map((stream) => deliver(stream, () => true)));
    const written = reports.slice(first);
    const failures = written.filter((entry) => entry.error !== undefined);
    if (failures.length > 0) {
      throw new Error(`firehose flush: ${failures.length} object(s) not delivered: ${failures[0]?.error}`);
    }
    return written;
  };

  return {
    service,
    flush,
    failRecords(rule) {
      rules.push({ rule, matched: 0, failed: 0 });
    },
    clearRecordFailures() {
      rules.length = 0;
    },
    deliveries: () => reports,
    async close() {
      clearInterval(timer);
      await closeServer(service.server);
      if (options.statePath === undefined) await flush();
      else await Promise.all([...inFlight]);
      store.flush();
    },
  };
}
