/** The embedded stack wired for correction tests: real dynalite, s3rver, Firehose and SQS stand-ins. */

import { correctionRequestsOf, type QueuedRequest } from '../../anomaly/correction/from-outcome.ts';
import {
  type CorrectionQueueUrls,
  ensureCorrectionQueues,
  sendCorrectionRequests,
} from '../../anomaly/correction/queues.ts';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { S3_PREFIXES } from '../../consumers/contract/layout.ts';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import type { BatchOutcome } from '../../consumers/processor/types.ts';
import { createFirehoseSink } from '../../consumers/sinks/firehose-sink.ts';
import { ensureBucket, ensureDeliveryStream, ensureTable } from '../../local/resources.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { envelope, type ReadingSpec, record } from '../core/fixtures.ts';

export interface Harness {
  readonly stack: EmbeddedLocalStack;
  readonly clients: AwsClients;
  readonly urls: CorrectionQueueUrls;
  /** Delivers results and archive through Firehose (buffered until `flush`). */
  deliver(outcome: BatchOutcome): Promise<QueuedRequest[]>;
  flush(): Promise<void>;
  queue(requests: readonly QueuedRequest[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const stack = await startLocalStack();
  const clients = createAwsClients(localClientsConfig(stack));
  const bucketArn = `arn:aws:s3:::${DEFAULT_NAMES.bucket}`;
  const role = 'arn:aws:iam::000000000000:role/fleetstream-firehose';
  // Long buffers: the test decides when objects land, by flushing.
  const buffering = { IntervalInSeconds: 900, SizeInMBs: 64 };
  await Promise.all([
    ensureBucket(clients, DEFAULT_NAMES.bucket),
    ensureTable(clients, DEFAULT_NAMES.correctionTable, 'id'),
  ]);
  await ensureDeliveryStream(
    clients,
    DEFAULT_NAMES.resultsDeliveryStream,
    bucketArn,
    role,
    S3_PREFIXES.results,
    buffering,
  );
  await ensureDeliveryStream(
    clients,
    DEFAULT_NAMES.rawDeliveryStream,
    bucketArn,
    role,
    S3_PREFIXES.raw,
    buffering,
  );
  const urls = await ensureCorrectionQueues(clients.sqs);
  const results = createFirehoseSink({
    client: clients.firehose,
    deliveryStreamName: DEFAULT_NAMES.resultsDeliveryStream,
  });
  const archive = createFirehoseSink({
    client: clients.firehose,
    deliveryStreamName: DEFAULT_NAMES.rawDeliveryStream,
  });
  return {
    stack,
    clients,
    urls,
    async deliver(outcome) {
      await Promise.all([results.deliver(outcome.results), archive.deliver(outcome.archive)]);
      return correctionRequestsOf(outcome);
    },
    async flush() {
      await stack.standIns.firehose.flush();
    },
    queue: (requests) => sendCorrectionRequests(clients.sqs, urls.queueUrl, requests),
    async stop() {
      clients.destroy();
      await stack.stop();
    },
  };
}

/** Readings every `stepMs` from `startMs`, arriving 100 ms after device time unless `arrival` says otherwise. */
export function readings(
  deviceId: string,
  count: number,
  startMs: number,
  stepMs: number,
  metrics: (seq: number) => Record<string, number>,
): ReadingSpec[] {
  return Array.from({ length: count }, (_, seq) => ({
    deviceId,
    seq,
    tsMs: startMs + seq * stepMs,
    metrics: metrics(seq),
  }));
}

export function toRecords(specs: readonly ReadingSpec[]): StreamRecord[] {
  return specs.map(record);
}

export { envelope };

/**
 * Runs a CLI command in this process and returns its exit code and what it wrote to stdout. The CLI writes
 * strings; the test runner's own (binary) reports pass through untouched.
 */
export async function captureStdout(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string')
      return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await run(), out };
  } finally {
    process.stdout.write = write;
  }
}
