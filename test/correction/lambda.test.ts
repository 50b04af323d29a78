/**
 * The correction functions as Lambda runs them: SQS events built from messages really received from the
 * embedded SQS, the service on the real SDK clients against dynalite and s3rver, and — as the CDK stack
 * deploys them — separate results, raw-archive and failure buckets, configured through the environment
 * names of infra/names.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { listFailures, readFailure } from '../../anomaly/correction/failures.ts';
import { CorrectionHistory } from '../../anomaly/correction/history.ts';
import { correctionLambdaConfigFromEnv } from '../../anomaly/correction/lambda/config.ts';
import {
  type CorrectionQueue,
  createCorrectionLambda,
  createCorrectionService,
  type SqsHandler,
} from '../../anomaly/correction/lambda/handler.ts';
import type { SqsEvent } from '../../anomaly/correction/lambda/sqs-event.ts';
import { parseDeadLetter } from '../../anomaly/correction/messages.ts';
import { CORRECTION_NAMES, DeadLetterReason } from '../../anomaly/correction/names.ts';
import {
  type CorrectionQueueUrls,
  ensureCorrectionQueues,
  queueDepth,
  sendCorrectionRequests,
} from '../../anomaly/correction/queues.ts';
import { readLatestWindows } from '../../anomaly/correction/results.ts';
import { S3Store } from '../../anomaly/correction/s3-store.ts';
import { correctionsCommand } from '../../cli/commands/corrections.ts';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { S3_PREFIXES } from '../../consumers/contract/layout.ts';
import type { CorrectionRequest } from '../../consumers/contract/outputs.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { createFirehoseSink } from '../../consumers/sinks/firehose-sink.ts';
import { RUNTIME_ENV } from '../../infra/names.ts';
import { ensureBucket, ensureDeliveryStream, ensureTable } from '../../local/resources.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { captureStdout, readings, toRecords } from './harness.ts';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const BUCKETS = { results: 'lambda-results', raw: 'lambda-raw', failures: 'lambda-failures' } as const;
/** The single local bucket: nothing may land here when every data class has its own. */
const DEFAULT_BUCKET = 'lambda-default';

const calm = (seq: number) => ({
  temperatureC: 21 + Math.sin(seq / 5) * 0.5,
  humidityPct: 50,
  batteryV: 3.7,
  energyWh: 1000 + seq * 2,
});

describe('correction functions on SQS event sources', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  let urls: CorrectionQueueUrls;
  let store: S3Store;
  let history: CorrectionHistory;
  const emf: string[] = [];
  /** Requests the stream raised for the late devices, by device. */
  const raised = new Map<string, { request: CorrectionRequest; eventMs: number }[]>();

  /** A function as its entry wires it, from the environment the CDK stack sets. */
  async function lambda(queue: CorrectionQueue, extraEnv: Record<string, string> = {}): Promise<SqsHandler> {
    const config = correctionLambdaConfigFromEnv({
      [RUNTIME_ENV.correctionsQueueUrl]: urls.queueUrl,
      [RUNTIME_ENV.correctionsDlqUrl]: urls.deadLetterQueueUrl,
      [RUNTIME_ENV.correctionTable]: CORRECTION_NAMES.table,
      [RUNTIME_ENV.stateBucket]: DEFAULT_BUCKET,
      [RUNTIME_ENV.resultsBucket]: BUCKETS.results,
      [RUNTIME_ENV.rawBucket]: BUCKETS.raw,
      [RUNTIME_ENV.failuresBucket]: BUCKETS.failures,
      ...extraEnv,
    });
    const metrics = createMetrics({ write: (line) => emf.push(line) });
    const service = await createCorrectionService(config, clients, { metrics });
    return createCorrectionLambda(queue, { service, logger: silentLogger });
  }

  /** What Lambda's poller hands the function: the messages it received, with their system attributes. */
  async function eventFrom(queueUrl: string): Promise<SqsEvent> {
    const { Messages: messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    return {
      Records: messages.map((m: Message) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount,
          SentTimestamp: m.Attributes?.SentTimestamp,
        },
      })),
    };
  }

  const lateWindow = (deviceId: string) => `${deviceId}:w:${T0 + MINUTE}`;

  before(async () => {
    stack = await startLocalStack();
    clients = createAwsClients(localClientsConfig(stack));
    await Promise.all([
      ...[...Object.values(BUCKETS), DEFAULT_BUCKET].map((name) => ensureBucket(clients, name)),
      ensureTable(clients, CORRECTION_NAMES.table, 'id'),
    ]);
    const role = 'arn:aws:iam::000000000000:role/fleetstream-firehose';
    const buffering = { IntervalInSeconds: 900, SizeInMBs: 64 };
    await ensureDeliveryStream(
      clients,
      'lambda-results',
      `arn:aws:s3:::${BUCKETS.results}`,
      role,
      S3_PREFIXES.results,
      buffering,
    );
    await ensureDeliveryStream(
      clients,
      'lambda-raw',
      `arn:aws:s3:::${BUCKETS.raw}`,
      role,
      S3_PREFIXES.raw,
      buffering,
    );
    urls = await ensureCorrectionQueues(clients.sqs);
    store = new S3Store({ s3: clients.s3, bucket: DEFAULT_BUCKET, buckets: BUCKETS });
    history = new CorrectionHistory(clients.dynamodb, CORRECTION_NAMES.table);

    // Two devices whose seq 8 (window 12:01) arrives after seq 30: a late event that also fills a gap.
    const processor = createRecordProcessor();
    const specs = ['dev-late', 'dev-busy']
      .flatMap((deviceId) => readings(deviceId, 40, T0, 10_000, calm))
      .map((s) => (s.seq === 8 ? { ...s, arrivalMs: T0 + 305_000 } : s))
      .sort((a, b) => (a.arrivalMs ?? a.tsMs + 100) - (b.arrivalMs ?? b.tsMs + 100));
    const batch = processor.process(toRecords(specs));
    const flushed = processor.flush();
    const results = [...batch.results, ...flushed.results];
    await createFirehoseSink({ client: clients.firehose, deliveryStreamName: 'lambda-results' }).deliver(
      results,
    );
    await createFirehoseSink({ client: clients.firehose, deliveryStreamName: 'lambda-raw' }).deliver(
      batch.archive,
    );
    await stack.standIns.firehose.flush();
    for (const request of [...batch.corrections, ...flushed.corrections]) {
      const line = results.find((r) => r.id === request.id);
      const list = raised.get(request.deviceId) ?? [];
      list.push({ request, eventMs: line?.partitionMs ?? 0 });
      raised.set(request.deviceId, list);
    }
  });

  after(async () => {
    clients?.destroy();
    await stack?.stop();
  });

  it('reads its configuration once from the environment, with the single local bucket as default', () => {
    const defaults = correctionLambdaConfigFromEnv({});
    assert.deepEqual(defaults.buckets, {
      results: CORRECTION_NAMES.bucket,
      raw: CORRECTION_NAMES.bucket,
      failures: CORRECTION_NAMES.bucket,
    });
    assert.equal(defaults.table, CORRECTION_NAMES.table);
    assert.equal(defaults.queueUrl, undefined, 'resolved by name at cold start');
    assert.equal(defaults.maxDeadLetterAttempts, 5);
    for (const [name, value] of [
      [RUNTIME_ENV.correctionDlqMaxAttempts, '0'],
      [RUNTIME_ENV.correctionDlqMaxAttempts, '2.5'],
      [RUNTIME_ENV.resultsBucket, ' '],
      [RUNTIME_ENV.correctionsDlqUrl, ''],
      ['FLEETSTREAM_ENDPOINT_SQS', 'localhost:1'],
    ] as const) {
      assert.throws(() => correctionLambdaConfigFromEnv({ [name]: value }), ConfigError, name);
    }
  });

  it('the correction handler corrects a late event and its filled gap end to end', async () => {
    const requests = raised.get('dev-late') ?? [];
    assert.deepEqual(requests.map((q) => q.request.reason).sort(), ['GAP_FILLED', 'LATE_EVENT']);
    const handler = await lambda('requests');
    const firstEmf = emf.length;
    // One invocation each: in one batch the two would race for the window's claim (the loser is postponed).
    for (const reason of ['LATE_EVENT', 'GAP_FILLED']) {
      await sendCorrectionRequests(
        clients.sqs,
        urls.queueUrl,
        requests.filter((q) => q.request.reason === reason),
      );
      const event = await eventFrom(urls.queueUrl);
      assert.equal(event.Records.length, 1);
      assert.deepEqual(await handler(event), { batchItemFailures: [] }, reason);
    }

    const latest = await readLatestWindows(store, T0 - HOUR, T0 + HOUR);
    const corrected = latest.get(lateWindow('dev-late'));
    assert.equal(corrected?.version, 2);
    assert.equal(corrected?.received, 6, 'the late seq 8 is in the corrected window');
    assert.equal(corrected?.correction?.supersedes, `${lateWindow('dev-late')}:v1`);
    // The new version went to the results bucket, beside the old one; nothing to the default bucket.
    const keys = (await store.list('results/')).map((o) => o.key);
    assert.ok(
      keys.some((key) => key.includes('correction.dev-late_w_')),
      `corrected version among ${keys.join(', ')}`,
    );
    assert.equal(store.bucketOf('results/'), BUCKETS.results);
    const elsewhere = new S3Store({ s3: clients.s3, bucket: DEFAULT_BUCKET });
    assert.deepEqual(await elsewhere.list(''), []);

    const item = await history.get(lateWindow('dev-late'));
    assert.equal(item?.status, 'corrected');
    assert.equal(item?.corrections, 1);
    assert.deepEqual(item?.events.map((e) => e.outcome).sort(), ['corrected', 'covered']);
    // Acknowledged messages are gone from the queue, and the invocation published its metrics.
    assert.equal(await queueDepth(clients.sqs, urls.queueUrl), 0);
    const lines = emf.slice(firstEmf).map((line) => JSON.parse(line) as Record<string, number>);
    assert.equal(lines.length, 2, 'one EMF line per invocation');
    const total = (name: string) => lines.reduce((sum, line) => sum + (line[name] ?? 0), 0);
    assert.equal(total('CorrectionsWritten'), 1);
    assert.equal(total('CorrectionsRequested'), 2);
    assert.equal(total('CorrectionsCorrected'), 2, 'corrected, then covered');
    assert.equal(lines.at(-1)?.CorrectionDlqDepth, 0);
  });

  it('dead-letters a request for an already corrected item to the correction DLQ, with its reason', async () => {
    const resultId = lateWindow('dev-late');
    // The detector flags the corrected window (reading 9): excluding it would be a second correction.
    await sendCorrectionRequests(clients.sqs, urls.queueUrl, [
      {
        request: {
          kind: 'correction-request',
          id: `${resultId}:c:ANOMALY`,
          reason: 'ANOMALY',
          deviceId: 'dev-late',
          targetId: resultId,
          windowStart: new Date(T0 + MINUTE).toISOString(),
          seq: 9,
        },
        eventMs: T0 + MINUTE,
      },
    ]);
    const handler = await lambda('requests');
    assert.deepEqual(await handler(await eventFrom(urls.queueUrl)), { batchItemFailures: [] });
    assert.equal(await queueDepth(clients.sqs, urls.queueUrl), 0);

    const dlq = await eventFrom(urls.deadLetterQueueUrl);
    assert.equal(dlq.Records.length, 1);
    const letter = parseDeadLetter(dlq.Records[0]!.body);
    assert.ok(letter.ok, 'a correction dead letter');
    assert.equal(letter.value.reason, DeadLetterReason.AlreadyCorrected);
    assert.equal(letter.value.message?.request.seq, 9);
    // Back to visible for the DLQ processor below.
    await clients.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: urls.deadLetterQueueUrl,
        ReceiptHandle: dlq.Records[0]!.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    assert.equal((await history.get(resultId))?.corrections, 1, 'no second version');
  });

  it('reports a request it postponed (another handler holds the claim) and settles the rest of the batch', async () => {
    const busy = (raised.get('dev-busy') ?? []).find((q) => q.request.reason === 'LATE_EVENT');
    assert.ok(busy, 'dev-busy raised a LATE_EVENT request');
    const claimed = await history.claim(lateWindow('dev-busy'), {
      owner: 'another-handler',
      requestKey: 'elsewhere',
      reason: 'LATE_EVENT',
      nowMs: Date.now(),
      staleBeforeMs: 0,
      force: false,
    });
    assert.ok(claimed, 'the other handler holds the claim');
    await sendCorrectionRequests(clients.sqs, urls.queueUrl, [busy]);
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: urls.queueUrl,
        MessageBody: 'not a correction request',
      }),
    );
    const handler = await lambda('requests');
    const event = await eventFrom(urls.queueUrl);
    assert.equal(event.Records.length, 2);
    const busyRecord = event.Records.find((r) => r.body.includes('dev-busy'));

    const response = await handler(event);

    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: busyRecord?.messageId }] });
    // The postponed one stays queued, hidden for the service's short delay; the malformed one is gone.
    assert.equal(await queueDepth(clients.sqs, urls.queueUrl), 1);
    assert.deepEqual((await eventFrom(urls.queueUrl)).Records, [], 'hidden, not visible at once');
    assert.equal((await history.get(lateWindow('dev-busy')))?.status, 'claimed');
    const dlq = await eventFrom(urls.deadLetterQueueUrl);
    const reasons = dlq.Records.map(
      (r) => (parseDeadLetter(r.body) as { value: { reason: string } }).value.reason,
    );
    assert.deepEqual(reasons.sort(), [DeadLetterReason.AlreadyCorrected, DeadLetterReason.MalformedRequest]);
    for (const record of dlq.Records)
      await clients.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: urls.deadLetterQueueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
  });

  it('the DLQ processor backs off a dead letter with attempts left, then stores the exhausted one as a failure', async () => {
    const event = await eventFrom(urls.deadLetterQueueUrl);
    assert.equal(event.Records.length, 2);
    const already = event.Records.find((r) => r.body.includes(DeadLetterReason.AlreadyCorrected));
    assert.ok(
      already,
      `the ALREADY_CORRECTED dead letter among ${event.Records.map((r) => r.body).join(', ')}`,
    );

    // Attempts left: retried (still ALREADY_CORRECTED), hidden for its backoff, reported for redelivery.
    const patient = await lambda('dead-letters');
    const first = await patient({ Records: [already] });
    assert.deepEqual(first, { batchItemFailures: [{ itemIdentifier: already.messageId }] });
    assert.deepEqual(await listFailures(store), []);

    // Its last attempt (one allowed): stored with what a person needs, and acknowledged.
    const exhausted = await lambda('dead-letters', { [RUNTIME_ENV.correctionDlqMaxAttempts]: '1' });
    assert.deepEqual(await exhausted(event), { batchItemFailures: [] });
    const failures = await listFailures(store);
    assert.deepEqual(failures.map((f) => f.reason).sort(), [
      DeadLetterReason.AlreadyCorrected,
      DeadLetterReason.MalformedRequest,
    ]);
    assert.equal(store.bucketOf(failures[0]!.key), BUCKETS.failures);
    const stored = await readFailure(
      store,
      failures.find((f) => f.reason === DeadLetterReason.AlreadyCorrected)!.key,
    );
    assert.equal(stored.message?.request.seq, 9);
    assert.equal(stored.lastError?.code, 'ALREADY_CORRECTED');
    assert.equal(stored.history?.correctedId, `${lateWindow('dev-late')}:v2`);
    assert.equal(await queueDepth(clients.sqs, urls.deadLetterQueueUrl), 0);
    const metrics = emf.map((line) => JSON.parse(line) as Record<string, unknown>).at(-1);
    assert.equal(metrics?.CorrectionFailures, 2);
  });
  it('the operator CLI finds failure storage in its own bucket (--failures-bucket)', async () => {
    const stackLine = JSON.stringify({
      region: stack.region,
      endpoints: stack.endpoints,
      credentials: stack.credentials,
    });
    const { code, out } = await captureStdout(() =>
      correctionsCommand.run([
        'failures',
        '--json',
        '--stack',
        stackLine,
        '--bucket',
        DEFAULT_BUCKET,
        '--failures-bucket',
        BUCKETS.failures,
      ]),
    );
    assert.equal(code, 0, out);
    const rows = JSON.parse(out) as { reason: string }[];
    assert.deepEqual(rows.map((r) => r.reason).sort(), [
      DeadLetterReason.AlreadyCorrected,
      DeadLetterReason.MalformedRequest,
    ]);
  });

  it('settles malformed SQS events (no attributes, non-numeric counts, bodies that are not JSON) without throwing', async () => {
    const handler = await lambda('requests');
    for (const bad of [{}, null, { Records: 'x' }, { Records: [] }] as unknown as SqsEvent[])
      assert.deepEqual(await handler(bad), { batchItemFailures: [] });

    // The request postponed above is still in flight; it is not part of this test.
    const inFlight = await queueDepth(clients.sqs, urls.queueUrl);
    for (const body of ['not json', '{"v":1}'])
      await clients.sqs.send(new SendMessageCommand({ QueueUrl: urls.queueUrl, MessageBody: body }));
    const received = await eventFrom(urls.queueUrl);
    assert.deepEqual(received.Records.map((r) => r.body).sort(), ['not json', '{"v":1}']);
    const [first, second] = received.Records;
    const event = {
      Records: [
        { ...first, attributes: undefined },
        { ...second, attributes: { ApproximateReceiveCount: 'many', SentTimestamp: 'yesterday' } },
        null,
      ],
    } as unknown as SqsEvent;
    assert.deepEqual(await handler(event), { batchItemFailures: [] });
    assert.equal(await queueDepth(clients.sqs, urls.queueUrl), inFlight, 'both settled and deleted');

    // Both dead-lettered with their reason; the DLQ processor stores them, with usable attempt counts.
    const dlq = await eventFrom(urls.deadLetterQueueUrl);
    const letters = dlq.Records.map((r) => parseDeadLetter(r.body));
    assert.deepEqual(
      letters.map((l) => (l.ok ? l.value.reason : l.message)),
      [DeadLetterReason.MalformedRequest, DeadLetterReason.MalformedRequest],
    );
    const processor = await lambda('dead-letters');
    const mangled = {
      Records: dlq.Records.map((r) => ({
        ...r,
        attributes: { ApproximateReceiveCount: 'x', SentTimestamp: '' },
      })),
    };
    assert.deepEqual(await processor(mangled), { batchItemFailures: [] });
    assert.equal(await queueDepth(clients.sqs, urls.deadLetterQueueUrl), 0);
    const stored = (await listFailures(store, DeadLetterReason.MalformedRequest)).length;
    assert.ok(stored >= 3, `malformed failures stored: ${stored}`);
    for (const failure of await listFailures(store, DeadLetterReason.MalformedRequest)) {
      const item = await readFailure(store, failure.key);
      assert.ok(Number.isInteger(item.attempts) && item.attempts >= 1, JSON.stringify(item));
      assert.ok(Number.isFinite(item.firstDeadLetteredAtMs), JSON.stringify(item));
    }
  });
});
