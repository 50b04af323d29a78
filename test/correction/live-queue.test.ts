/**
 * The live path a deployed worker takes: FLEETSTREAM_CORRECTIONS_QUEUE_URL in the environment → runtime
 * sinks → the correction queue, with the real SQS stand-in and the real SDK client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCorrectionMessage } from '../../anomaly/correction/messages.ts';
import { receive } from '../../anomaly/correction/queues.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { createRuntimeParts, runtimeConfigFromEnv } from '../../consumers/runtimes/runtime.ts';
import { record, T0 } from '../core/fixtures.ts';
import { type Harness, startHarness } from './harness.ts';

describe('correction requests from a worker', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness.stop();
  });

  it('reach the correction queue when the runtime is configured with one', async () => {
    const { stack, clients, urls } = harness;
    const env: NodeJS.ProcessEnv = {
      AWS_REGION: stack.region,
      FLEETSTREAM_DLQ_URL: urls.deadLetterQueueUrl,
      FLEETSTREAM_CORRECTIONS_QUEUE_URL: urls.queueUrl,
    };
    const parts = await createRuntimeParts(runtimeConfigFromEnv(env), clients);
    assert.ok(parts.sinks.corrections !== undefined);

    // seq 3 arrives before seq 2: the gap is reported, then filled, which raises GAP_FILLED.
    const outcome = createRecordProcessor().process([
      record({ seq: 1, tsMs: T0 }),
      record({ seq: 3, tsMs: T0 + 2000 }),
      record({ seq: 2, tsMs: T0 + 1000 }),
    ]);
    assert.equal(outcome.corrections.length, 1);
    await parts.sinks.corrections.send(outcome);

    const received = await receive(clients.sqs, urls.queueUrl, { waitSeconds: 1 });
    assert.equal(received.length, 1);
    const parsed = parseCorrectionMessage(received[0]?.body ?? '');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
    const { request } = parsed.value;
    assert.equal(request.id, outcome.corrections[0]?.id);
    assert.equal(request.reason, 'GAP_FILLED');
    assert.equal(request.ts, new Date(T0 + 1000).toISOString());
  });

  it('stay among the results only when no queue is configured', async () => {
    const parts = await createRuntimeParts(
      runtimeConfigFromEnv({
        AWS_REGION: harness.stack.region,
        FLEETSTREAM_DLQ_URL: harness.urls.deadLetterQueueUrl,
      }),
      harness.clients,
    );
    assert.equal(parts.sinks.corrections, undefined);
  });
});
