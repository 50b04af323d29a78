/**
 * Every trigger path end to end on the embedded stack: the record processor's outputs go through the real
 * Firehose stand-in into s3rver, requests through the SQS stand-in, the history into dynalite — all via
 * the real SDK clients. Nothing here is mocked; failures (a result not yet delivered) happen for real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadWindowEvidence } from '../../anomaly/correction/evidence.ts';
import { listFailures, readFailure } from '../../anomaly/correction/failures.ts';
import type { QueuedRequest } from '../../anomaly/correction/from-outcome.ts';
import { DeadLetterReason } from '../../anomaly/correction/names.ts';
import { queueDepth } from '../../anomaly/correction/queues.ts';
import { redriveFailure } from '../../anomaly/correction/redrive.ts';
import { readLatestWindows } from '../../anomaly/correction/results.ts';
import { S3Store } from '../../anomaly/correction/s3-store.ts';
import { CorrectionService } from '../../anomaly/correction/service.ts';
import { verifyWindows } from '../../anomaly/correction/verifier.ts';
import { correctionsCommand } from '../../cli/commands/corrections.ts';
import { parseFleetConfig } from '../../consumers/config.ts';
import { devicePartOf } from '../../consumers/contract/layout.ts';
import type { WindowResult } from '../../consumers/contract/outputs.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { BatchOutcome } from '../../consumers/processor/types.ts';
import type { ReadingSpec } from '../core/fixtures.ts';
import { captureStdout, type Harness, readings, startHarness, toRecords } from './harness.ts';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;

const calm = (seq: number) => ({
  temperatureC: 21 + Math.sin(seq / 5) * 0.5,
  humidityPct: 50,
  batteryV: 3.7,
  energyWh: 1000 + seq * 2,
});

/** Runs specs through one processor in arrival order, returning the batch and the flush as one outcome. */
function run(specs: readonly ReadingSpec[], tamper?: (line: string) => string): BatchOutcome {
  const ordered = [...specs].sort((a, b) => (a.arrivalMs ?? a.tsMs + 100) - (b.arrivalMs ?? b.tsMs + 100));
  const processor = createRecordProcessor();
  const batch = processor.process(toRecords(ordered));
  const flushed = processor.flush();
  const results = [...batch.results, ...flushed.results].map((r) =>
    tamper === undefined ? r : { ...r, line: tamper(r.line) },
  );
  return {
    results,
    archive: batch.archive,
    rejections: batch.rejections,
    corrections: [...batch.corrections, ...flushed.corrections],
    counts: batch.counts,
  };
}

describe('automatic correction on the embedded stack', () => {
  let h: Harness;
  let service: CorrectionService;
  let streamRequests: QueuedRequest[];
  const emf: string[] = [];

  before(async () => {
    h = await startHarness();
    service = new CorrectionService(h.clients, h.urls, {
      maxDeadLetterAttempts: 2,
      deadLetterBaseDelaySeconds: 0,
      verifyRate: 1,
      metrics: createMetrics({ write: (line) => emf.push(line) }),
    });

    // dev-late: seq 8 (window 12:01) is held back until after seq 30: a late event that also fills a gap.
    const late = readings('dev-late', 40, T0, 10_000, calm).map((s) =>
      s.seq === 8 ? { ...s, arrivalMs: T0 + 305_000 } : s,
    );
    // dev-spike: a 30 °C spike at seq 180, which the stream's anomaly scorer flags.
    const spike = readings('dev-spike', 240, T0, 10_000, (seq) => ({
      ...calm(seq),
      temperatureC: calm(seq).temperatureC + (seq === 180 ? 30 : 0),
    }));
    // dev-bug and dev-ok: clean devices; dev-bug's window 12:02 is emitted wrongly (a processing bug).
    const bug = readings('dev-bug', 40, T0, 10_000, calm);
    const ok = readings('dev-ok', 40, T0, 10_000, calm);
    const wrongWindow = `"resultId":"dev-bug:w:${T0 + 2 * MINUTE}"`;
    const outcome = run([...late, ...spike, ...bug, ...ok], (line) =>
      line.includes(wrongWindow)
        ? line.replace(/"mean":([0-9.]+)/, (_m, v) => `"mean":${Number(v) + 5}`)
        : line,
    );
    streamRequests = await h.deliver(outcome);
    await h.flush();
  });

  after(async () => {
    await h.stop();
  });

  it('raises LATE_EVENT, GAP_FILLED and ANOMALY requests from the stream', () => {
    const ids = streamRequests.map((q) => q.request.id).sort();
    assert.deepEqual(ids, [
      `dev-late:m:8:c:GAP_FILLED`,
      `dev-late:w:${T0 + MINUTE}:c:LATE_EVENT`,
      `dev-spike:w:${T0 + 30 * MINUTE}:c:ANOMALY`,
    ]);
    const gap = streamRequests.find((q) => q.request.reason === 'GAP_FILLED');
    assert.equal(gap?.eventMs, T0 + 80_000, 'a GAP_FILLED request travels with its reading time');
  });

  it('lands every line under its device part, and a correction reads only its device part of each hour', async () => {
    const store = () => new S3Store({ s3: h.clients.s3, bucket: DEFAULT_NAMES.bucket });
    // The four devices sit in four different parts, so a part holds one device here.
    const devices = ['dev-late', 'dev-spike', 'dev-bug', 'dev-ok'];
    assert.equal(new Set(devices.map(devicePartOf)).size, devices.length);
    const all = store();
    for (const root of ['raw/', 'results/']) {
      const objects = await all.list(root);
      assert.ok(objects.length >= devices.length, `${root} holds an object per device part`);
      for (const object of objects) {
        const part = /\/part=([0-9a-f])\//.exec(object.key)?.[1];
        for (const line of await all.lines(object)) {
          const parsed = JSON.parse(line) as { deviceId: string; part: string };
          assert.equal(parsed.part, part, `${object.key}: line of ${parsed.deviceId}`);
          assert.equal(devicePartOf(parsed.deviceId), part);
        }
      }
    }

    const windowStart = T0 + MINUTE;
    const everyDevice = store();
    await everyDevice.partitionLines('results', windowStart, windowStart + MINUTE);
    await everyDevice.partitionLines('raw', windowStart - HOUR, windowStart + MINUTE);
    const oneDevice = store();
    const evidence = await loadWindowEvidence(oneDevice, parseFleetConfig(), 'dev-late', windowStart, HOUR);
    assert.ok(evidence.latest !== undefined && evidence.raw.length > 0);
    assert.ok(evidence.raw.every((line) => line.deviceId === 'dev-late'));
    assert.ok(
      oneDevice.fetched.bytes * 2 < everyDevice.fetched.bytes,
      `one device's evidence fetched ${oneDevice.fetched.bytes} of the hours' ${everyDevice.fetched.bytes} bytes`,
    );
  });

  it('the verifier finds exactly the wrongly processed and the late-filled windows', async () => {
    await h.queue(streamRequests);
    // Every window is checked (rate 1): the clean devices re-derive to exactly what was emitted.
    const report = await verifyWindows(
      { store: service.store, config: parseFleetConfig(), rate: 1 },
      T0 - HOUR,
      T0 + 2 * HOUR,
    );
    assert.equal(report.checked, report.windows);
    assert.deepEqual(report.mismatches.map((m) => m.request.targetId).sort(), [
      `dev-bug:w:${T0 + 2 * MINUTE}`,
      `dev-late:w:${T0 + MINUTE}`,
    ]);
    assert.deepEqual(await service.verify(T0 - HOUR, T0 + 2 * HOUR), {
      checked: report.checked,
      mismatches: 2,
    });
  });

  it('corrects each item once: new versions supersede, old ones stay, every request is accounted for', async () => {
    const stats = await service.drain();
    assert.equal(stats.loops, 0);
    assert.equal(stats.deadLettered + stats.failed, 0, JSON.stringify(stats));
    assert.equal(stats.requested, stats.corrected);
    assert.equal(stats.superseded, 3, 'dev-late 12:01, dev-bug 12:02 and dev-spike 12:30');
    // EMF for dashboards and alarms: correction rate, DLQ depth, corrections written.
    const metrics = emf.map((line) => JSON.parse(line) as Record<string, unknown>).at(-1);
    assert.equal(metrics?.CorrectionRate, 1);
    assert.equal(metrics?.CorrectionDlqDepth, 0);
    assert.equal(metrics?.CorrectionsWritten, 3);
    assert.equal(metrics?.CorrectionsRequested, stats.requested);

    const latest = await readLatestWindows(service.store, T0 - HOUR, T0 + 2 * HOUR);
    const lateWindow = latest.get(`dev-late:w:${T0 + MINUTE}`) as WindowResult;
    assert.equal(lateWindow.version, 2);
    assert.equal(lateWindow.received, 6, 'the late seq 8 is in the corrected window');
    assert.equal(lateWindow.correction?.supersedes, `dev-late:w:${T0 + MINUTE}:v1`);
    const bugWindow = latest.get(`dev-bug:w:${T0 + 2 * MINUTE}`) as WindowResult;
    const okWindow = latest.get(`dev-ok:w:${T0 + 2 * MINUTE}`) as WindowResult;
    assert.equal(bugWindow.version, 2);
    assert.equal(bugWindow.correction?.reason, 'MISMATCH');
    assert.ok(
      Math.abs((bugWindow.metrics.temperatureC?.mean ?? 0) - (okWindow.metrics.temperatureC?.mean ?? 0)) <
        1e-9,
    );
    const spikeWindow = latest.get(`dev-spike:w:${T0 + 30 * MINUTE}`) as WindowResult;
    assert.equal(spikeWindow.version, 2);
    assert.ok((spikeWindow.metrics.temperatureC?.max ?? 99) < 25, 'the anomalous reading is excluded');
    assert.equal(spikeWindow.anomalous, 1);

    const history = await service.history.get(`dev-late:w:${T0 + MINUTE}`);
    assert.equal(history?.status, 'corrected');
    assert.equal(history?.corrections, 1);
    const outcomes = history?.events.map((e) => e.outcome).sort();
    assert.deepEqual(
      outcomes,
      ['corrected', 'covered', 'covered'],
      'LATE_EVENT, GAP_FILLED and MISMATCH: one correction',
    );
  });

  it('a corrected window that looks anomalous again is not corrected again (no loop)', async () => {
    const resultId = `dev-spike:w:${T0 + 30 * MINUTE}`;
    // The detector flags the corrected window once more (another reading, seq 181).
    await h.queue([
      {
        request: {
          kind: 'correction-request',
          id: `${resultId}:c:ANOMALY`,
          reason: 'ANOMALY',
          deviceId: 'dev-spike',
          targetId: resultId,
          windowStart: new Date(T0 + 30 * MINUTE).toISOString(),
          seq: 181,
        },
        eventMs: T0 + 30 * MINUTE,
      },
    ]);
    const stats = await service.drain();
    assert.equal(stats.loops, 0);
    assert.equal(stats.failed, 1, 'the repeat ended in failure storage after its retries');
    const latest = await readLatestWindows(service.store, T0, T0 + HOUR);
    assert.equal(latest.get(resultId)?.version, 2, 'no version 3');
    assert.equal((await service.history.get(resultId))?.corrections, 1);
    const [failure] = await listFailures(service.store, DeadLetterReason.AlreadyCorrected);
    assert.ok(failure !== undefined);
    const stored = await readFailure(service.store, failure.key);
    assert.equal(stored.message?.request.seq, 181);
    assert.equal(stored.lastError?.code, 'ALREADY_CORRECTED');
    assert.equal(stored.history?.correctedId, `${resultId}:v2`);
    assert.ok(stored.attempts >= 2);
    assert.ok(Buffer.from(stored.originalBase64, 'base64').toString().includes('"seq":181'));
  });

  it('redrive after a fix: a request whose result was not delivered yet fails, then heals', async () => {
    const slow = readings('dev-slow', 40, T0, 10_000, calm).map((s) =>
      s.seq === 8 ? { ...s, arrivalMs: T0 + 305_000 } : s,
    );
    const requests = await h.deliver(run(slow));
    const late = requests.filter((q) => q.request.reason === 'LATE_EVENT');
    await h.queue(late); // Firehose still buffers dev-slow: RESULT_NOT_FOUND, retried, then stored.
    let stats = await service.drain();
    const failures = await listFailures(service.store, DeadLetterReason.ResultNotFound);
    assert.equal(failures.length, 1);
    assert.equal(stats.failed, 2);

    await h.flush(); // the fix: the results arrive
    await redriveFailure(
      service.store,
      h.clients.sqs,
      h.urls.queueUrl,
      (failures[0] as { key: string }).key,
      {
        force: false,
        nowMs: Date.now(),
      },
    );
    stats = await service.drain();
    assert.equal(stats.failed, 1, 'the redriven request left failure storage');
    const latest = await readLatestWindows(service.store, T0, T0 + HOUR);
    assert.equal(latest.get(`dev-slow:w:${T0 + MINUTE}`)?.version, 2);
    assert.equal((await listFailures(service.store, DeadLetterReason.ResultNotFound)).length, 0);

    // Accounting against the stores themselves, not only the counters.
    assert.equal(stats.requested, stats.corrected + stats.deadLettered + stats.failed);
    assert.equal((await listFailures(service.store)).length, stats.failed);
    assert.equal(await queueDepth(h.clients.sqs, h.urls.deadLetterQueueUrl), stats.deadLettered);
    assert.equal(stats.loops, 0);
  });

  it('operator CLI: lists failures by reason, shows an item, and a forced redrive writes one more version', async () => {
    const stackLine = JSON.stringify({
      region: h.stack.region,
      endpoints: h.stack.endpoints,
      credentials: h.stack.credentials,
    });
    const cli = (...args: string[]) =>
      captureStdout(() => correctionsCommand.run([...args, '--stack', stackLine]));
    const resultId = `dev-spike:w:${T0 + 30 * MINUTE}`;
    const listed = await cli('failures', '--json');
    assert.equal(listed.code, 0);
    const rows = JSON.parse(listed.out) as { id: string; reason: string }[];
    assert.deepEqual(
      rows.map((r) => r.reason),
      ['ALREADY_CORRECTED'],
    );
    const text = await cli('failures');
    assert.match(text.out, /^ALREADY_CORRECTED: 1 \(oldest \d+s\)/);

    const shown = await cli('show', resultId, '--json');
    assert.equal((JSON.parse(shown.out) as { corrections: number }).corrections, 1);

    // After looking at it, the operator decides reading 181 must go too: a deliberate second correction.
    const redriven = await cli('redrive', `${resultId}:c:ANOMALY@181`, '--force');
    assert.equal(redriven.code, 0, redriven.out);
    const stats = await service.drain();
    assert.equal(stats.loops, 0, "a forced redrive is a person's decision, not a loop");
    const latest = await readLatestWindows(service.store, T0, T0 + HOUR);
    assert.equal(latest.get(resultId)?.version, 3);
    assert.equal(latest.get(resultId)?.correction?.supersedes, `${resultId}:v2`);
    const item = await service.history.get(resultId);
    assert.equal(item?.corrections, 2);
    assert.equal((await cli('failures', '--json')).out.trim(), '[]');
  });
});
