import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { PartialDeliveryError } from '../../consumers/contract/errors.ts';
import type { Rejection } from '../../consumers/contract/outputs.ts';
import { RejectReason } from '../../consumers/contract/reasons.ts';
import type { EncodedOutput } from '../../consumers/processor/types.ts';
import { chunkBySize } from '../../consumers/sinks/chunk.ts';
import { createFirehoseSink, FIREHOSE_LIMITS } from '../../consumers/sinks/firehose-sink.ts';
import { createSqsDlqSink, dlqMessageBody } from '../../consumers/sinks/sqs-dlq-sink.ts';
import { useLocalStack } from '../support/local-stack.ts';
import { deliveredLines, isolatedResources } from './helpers.ts';

function output(index: number, padding = 0): EncodedOutput {
  const id = `dev-${index % 7}:r:${index}`;
  const body = {
    dt: '2026-11-23',
    hour: '18',
    part: '0',
    kind: 'reading',
    id,
    deviceId: `dev-${index % 7}`,
    pad: 'x'.repeat(padding),
  };
  return {
    id,
    kind: 'reading',
    deviceId: `dev-${index % 7}`,
    partitionMs: 0,
    line: `${JSON.stringify(body)}\n`,
  };
}

describe('chunkBySize', () => {
  it('keeps order and every entry, and never exceeds a limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 3000 }), { maxLength: 300 }),
        fc.record({
          maxEntries: fc.integer({ min: 1, max: 50 }),
          maxBatchBytes: fc.integer({ min: 1, max: 10_000 }),
        }),
        (sizes, limits) => {
          const full = { ...limits, maxEntryBytes: 2500 };
          const entries = sizes.map((size, index) => ({ size, index }));
          const { batches, oversized } = chunkBySize(entries, (entry) => entry.size, full);
          const flat = batches.flat();
          assert.deepEqual(
            [...flat, ...oversized].map((entry) => entry.index).sort((a, b) => a - b),
            entries.map((entry) => entry.index),
          );
          assert.deepEqual(
            flat.map((entry) => entry.index),
            [...flat.map((entry) => entry.index)].sort((a, b) => a - b),
          );
          for (const batch of batches) {
            assert.ok(batch.length >= 1 && batch.length <= full.maxEntries);
            assert.ok(batch.reduce((sum, entry) => sum + entry.size, 0) <= full.maxBatchBytes);
          }
          for (const entry of oversized)
            assert.ok(entry.size > full.maxEntryBytes || entry.size > full.maxBatchBytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('splits at the Firehose limits: 500 records or 4 MiB per call', () => {
    const many = Array.from({ length: 1201 }, (_, i) => ({ size: 10, i }));
    assert.deepEqual(
      chunkBySize(many, (e) => e.size, FIREHOSE_LIMITS).batches.map((b) => b.length),
      [500, 500, 201],
    );
    const big = Array.from({ length: 9 }, (_, i) => ({ size: 1000 * 1024, i }));
    assert.deepEqual(
      chunkBySize(big, (e) => e.size, FIREHOSE_LIMITS).batches.map((b) => b.length),
      [4, 4, 1],
    );
  });
});

describe('sinks against the embedded stack', () => {
  const local = useLocalStack({ firehoseTickMs: 50 });

  it('Firehose sink under per-record failures: every record lands, only failed entries are re-sent, with their ids unchanged', async () => {
    const resources = await isolatedResources(local.clients, 'sink-a', 1);
    const stream = resources.names.resultsDeliveryStream;
    // Every third record fails, 400 failures in all: several rounds of partial retries.
    local.stack.standIns.firehose.failRecords({ deliveryStream: stream, fraction: 1 / 3, times: 400 });
    const resent: number[] = [];
    const sink = createFirehoseSink({
      client: local.clients.firehose,
      deliveryStreamName: stream,
      baseDelayMs: 1,
      maxDelayMs: 5,
      maxAttempts: 20,
      // One line per record, so the failures and re-sends count outputs.
      aggregateBytes: 0,
      onRetry: ({ failed }) => resent.push(failed),
    });
    const outputs = Array.from({ length: 1100 }, (_, i) => output(i));
    await sink.deliver(outputs);
    local.stack.standIns.firehose.clearRecordFailures();
    await local.stack.standIns.firehose.flush(stream);

    const lines = await deliveredLines(local.clients, resources.names.bucket, 'results/');
    const ids = new Set(lines.map((line) => line.id));
    assert.equal(ids.size, outputs.length, 'every output delivered');
    for (const o of outputs) assert.ok(ids.has(o.id));
    // Only the failed entries went again: the re-sent counts add up to the failures, not to whole batches.
    assert.ok(resent.length > 0, 'failures were injected');
    assert.equal(
      resent.reduce((a, b) => a + b, 0),
      400,
    );
    assert.equal(lines.length, outputs.length, 'a failed record is not stored, so nothing is doubled');
  });

  it('Firehose sink packs lines into few records that the delivery stream splits again, each line landing once', async () => {
    const resources = await isolatedResources(local.clients, 'sink-agg', 1);
    const stream = resources.names.resultsDeliveryStream;
    // The first record sent fails once: the whole record goes again, with the same ids.
    local.stack.standIns.firehose.failRecords({ deliveryStream: stream, fraction: 1, times: 1 });
    const retries: number[] = [];
    const recordsPerRequest: number[] = [];
    local.clients.firehose.middlewareStack.add(
      (next) => async (args) => {
        recordsPerRequest.push((args.input as { Records?: unknown[] }).Records?.length ?? 0);
        return next(args);
      },
      { step: 'initialize', name: 'countRecords' },
    );
    const sink = createFirehoseSink({
      client: local.clients.firehose,
      deliveryStreamName: stream,
      baseDelayMs: 1,
      aggregateBytes: 16 * 1024,
      onRetry: ({ failed }) => retries.push(failed),
    });
    const outputs = Array.from({ length: 1200 }, (_, i) => output(i));
    const bytes = outputs.reduce((sum, o) => sum + Buffer.byteLength(o.line), 0);
    await sink.deliver(outputs);
    local.clients.firehose.middlewareStack.remove('countRecords');
    local.stack.standIns.firehose.clearRecordFailures();
    await local.stack.standIns.firehose.flush(stream);

    assert.deepEqual(retries, [1], 'one failed record, re-sent once');
    assert.equal(recordsPerRequest.length, 2, 'one PutRecordBatch, one retry');
    assert.equal(recordsPerRequest[1], 1);
    // Packed to 16 KiB: a few dozen records carry all 1,200 lines.
    assert.ok(recordsPerRequest[0]! <= Math.ceil(bytes / (16 * 1024)) + 1, `${recordsPerRequest[0]} records`);
    const lines = await deliveredLines(local.clients, resources.names.bucket, 'results/');
    assert.equal(lines.length, outputs.length, 'each line stored once, as its own line');
    assert.deepEqual(new Set(lines.map((l) => l.id)), new Set(outputs.map((o) => o.id)));
  });

  it('Firehose sink gives up with PartialDeliveryError when records keep failing', async () => {
    const resources = await isolatedResources(local.clients, 'sink-b', 1);
    const stream = resources.names.resultsDeliveryStream;
    local.stack.standIns.firehose.failRecords({
      deliveryStream: stream,
      match: (data) => data.includes('"dev-3:r:3"'),
    });
    const sink = createFirehoseSink({
      client: local.clients.firehose,
      deliveryStreamName: stream,
      baseDelayMs: 1,
      maxAttempts: 3,
    });
    await assert.rejects(
      sink.deliver(Array.from({ length: 10 }, (_, i) => output(i))),
      (error: unknown) => error instanceof PartialDeliveryError && error.failedCount === 1 && error.retryable,
    );
    local.stack.standIns.firehose.clearRecordFailures();
  });

  it('Firehose sink refuses an output over 1000 KiB with a clear error instead of retrying it forever', async () => {
    const sink = createFirehoseSink({
      client: local.clients.firehose,
      deliveryStreamName: 'unused',
      maxAttempts: 1,
    });
    await assert.rejects(sink.deliver([output(1, 1000 * 1024)]), { code: 'OUTPUT_TOO_LARGE' });
  });

  it('DLQ sink sends every rejection with reason code, message and original bytes, in batches of 10', async () => {
    const resources = await isolatedResources(local.clients, 'sink-c', 1);
    const sink = createSqsDlqSink({ client: local.clients.sqs, queueUrl: resources.dlqUrl, baseDelayMs: 1 });
    const rejections: Rejection[] = Array.from({ length: 23 }, (_, i) => ({
      kind: 'rejection',
      id: `shardId-000000000000:${1000 + i}`,
      reason: i % 2 === 0 ? RejectReason.InvalidJson : RejectReason.SchemaViolation,
      message: `bad record ${i}`,
      rawBase64: Buffer.from(`{not json ${i}`).toString('base64'),
      arrivalMs: 1_700_000_000_000 + i,
    }));
    await sink.send(rejections);
    const received: Array<{ body: Rejection; reason: string | undefined }> = [];
    while (received.length < rejections.length) {
      const page = await local.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.dlqUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 1,
        }),
      );
      if ((page.Messages ?? []).length === 0) break;
      for (const message of page.Messages ?? []) {
        received.push({
          body: JSON.parse(message.Body ?? '{}'),
          reason: message.MessageAttributes?.reasonCode?.StringValue,
        });
      }
    }
    assert.equal(received.length, rejections.length);
    const byId = new Map(received.map((entry) => [entry.body.id, entry]));
    for (const rejection of rejections) {
      const got = byId.get(rejection.id);
      assert.ok(got, rejection.id);
      assert.equal(got.reason, rejection.reason);
      assert.equal(got.body.reason, rejection.reason);
      assert.equal(
        Buffer.from(got.body.rawBase64, 'base64').toString(),
        Buffer.from(rejection.rawBase64, 'base64').toString(),
      );
    }
  });

  it('DLQ message for an oversized record keeps the reason and a valid base64 head, marked truncated', () => {
    const raw = Buffer.alloc(400 * 1024, 7).toString('base64');
    const body = JSON.parse(
      dlqMessageBody(
        {
          kind: 'rejection',
          id: 'x',
          reason: RejectReason.RecordTooLarge,
          message: 'too large',
          rawBase64: raw,
          arrivalMs: 1,
        },
        255 * 1024,
      ),
    );
    assert.equal(body.reason, RejectReason.RecordTooLarge);
    assert.equal(body.rawTruncated, true);
    assert.equal(body.rawBase64Length, raw.length);
    assert.ok(Buffer.byteLength(JSON.stringify(body)) <= 255 * 1024);
    assert.equal(body.rawBase64.length % 4, 0);
    assert.ok(raw.startsWith(body.rawBase64));
  });
});
