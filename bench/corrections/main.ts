/**
 * bench:corrections — a simulated run with injected faults on the embedded stack, then the correction
 * report: how many late events and wrongly processed windows ended corrected automatically, loops, and
 * requests lost. JSON lines on stdout; the last one is the summary.
 *
 * Phase 1 is `npm start`'s pipeline (simulator with the default fault mix → EventBridge → Kinesis →
 * workers → Firehose → S3), whose own correction pass heals late, gap-filled and anomalous windows.
 * Phase 2 injects processing bugs: it rewrites the stored v1 of some windows with a wrong mean (a
 * "wrongly processed" result), then runs the verifier over every window (rate 1) and drains again.
 * Between the two it measures what one correction reads from S3: the evidence of a sample of windows
 * (the device's part of each hour, as the handler reads it) against every device's lines of the same hours.
 *
 *   npm run bench:corrections [-- --devices 30 --duration 20 --wrong 20]
 */
import { parseArgs } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_WARMUP_MS, loadWindowEvidence } from '../../anomaly/correction/evidence.ts';
import { listFailures } from '../../anomaly/correction/failures.ts';
import { ensureCorrectionQueues, queueDepth } from '../../anomaly/correction/queues.ts';
import { readLatestWindowsUnder } from '../../anomaly/correction/results.ts';
import { S3Store } from '../../anomaly/correction/s3-store.ts';
import { CorrectionService, type CorrectionStats } from '../../anomaly/correction/service.ts';
import { verifyWindows } from '../../anomaly/correction/verifier.ts';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { parseFleetConfig } from '../../consumers/config.ts';
import type { WindowResult } from '../../consumers/contract/outputs.ts';
import { silentLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { runPipeline } from '../../pipeline/run.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '30' },
    duration: { type: 'string', default: '20' },
    rate: { type: 'string', default: '150' },
    wrong: { type: 'string', default: '20' },
    seed: { type: 'string', default: '11' },
  },
});
const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const stack = await startLocalStack();
const clients = createAwsClients(localClientsConfig(stack));
try {
  const started = Date.now();
  const run = await runPipeline(
    {
      simulation: {
        devices: Number(values.devices),
        durationSeconds: Number(values.duration),
        rate: Number(values.rate),
        seed: Number(values.seed),
      },
      shards: 2,
      workers: 2,
    },
    { stack, clients, logger: silentLogger, metrics: createMetrics({ write: () => {} }) },
  );
  // correctAfterRun fills the section with the full CorrectionStats (per reason included).
  const live = run.sections.corrections as CorrectionStats | undefined;
  emit({
    phase: 'stream',
    wallSeconds: (Date.now() - started) / 1000,
    faults: run.sections.run.faults,
    labeledRecords: run.sections.detection?.labeledRecords,
    corrections: live,
  });

  // Phase 2: wrongly processed windows. Only windows nobody corrected yet (v1 is the latest).
  const store = new S3Store({ s3: clients.s3, bucket: run.resources.names.bucket });
  const objects = await store.list('results/');
  const latest = await readLatestWindowsUnder(store);
  const candidates = [...latest.values()].filter((w) => w.version === 1).map((w) => w.resultId);
  const wrong = new Set(
    candidates
      .filter((_, i) => i % Math.max(1, Math.floor(candidates.length / Number(values.wrong))) === 0)
      .slice(0, Number(values.wrong)),
  );
  for (const object of objects) {
    if (object.key.includes('correction.')) continue;
    const lines = await store.lines(object);
    let changed = false;
    const rewritten = lines.map((line) => {
      const m = /"resultId":"([^"]+)"/.exec(line);
      if (m === null || !line.includes('"kind":"window"') || !wrong.has(m[1] as string)) return line;
      changed = true;
      return line.replace(/"mean":(-?[0-9.e+-]+)/, (_x, v: string) => `"mean":${Number(v) + 7.5}`);
    });
    if (changed) await store.put(object.key, `${rewritten.join('\n')}\n`);
  }
  const reads = await measureEvidenceReads(clients.s3, run.resources.names.bucket, [...latest.values()]);
  emit({ phase: 'evidence-reads', ...reads });

  const urls = await ensureCorrectionQueues(clients.sqs);
  const service = new CorrectionService(clients, urls, {
    verifyRate: 1,
    bucket: run.resources.names.bucket,
    table: run.resources.names.correctionTable,
  });
  const spanStart = Math.min(...[...latest.values()].map((w) => Date.parse(w.windowStart)));
  const spanEnd = Math.max(...[...latest.values()].map((w) => Date.parse(w.windowStart))) + 1;
  // Mismatches the injection does not explain, with what differs (a verifier false positive, or a real one).
  const preview = await verifyWindows(
    { store: service.store, config: parseFleetConfig(), rate: 1 },
    spanStart,
    spanEnd,
  );
  const unexplained = preview.mismatches
    .filter((m) => !wrong.has(m.request.targetId))
    .map((m) => ({ resultId: m.request.targetId, differences: m.differences }));
  const verification = await service.verify(spanStart, spanEnd);
  const phase2 = await service.drain();
  const after = await readLatestWindowsUnder(
    new S3Store({ s3: clients.s3, bucket: run.resources.names.bucket }),
  );
  const healed = [...wrong].filter((id) => (after.get(id)?.version ?? 1) > 1).length;
  emit({
    phase: 'wrongly-processed',
    injected: wrong.size,
    verified: verification.checked,
    mismatches: verification.mismatches,
    unexplained,
    healed,
    corrections: phase2,
  });

  const late = live?.byReason.LATE_EVENT ?? { requested: 0, corrected: 0 };
  const failures = (await listFailures(store)).length;
  const dlq = await queueDepth(clients.sqs, urls.deadLetterQueueUrl);
  const requested = (live?.requested ?? 0) + phase2.requested;
  const ended =
    (live?.corrected ?? 0) +
    (live?.deadLettered ?? 0) +
    (live?.failed ?? 0) +
    phase2.corrected +
    phase2.deadLettered +
    phase2.failed;
  emit({
    summary: 'bench:corrections',
    lateEvents: late.requested,
    lateEventsCorrected: late.corrected,
    lateCorrectedRatio: late.requested === 0 ? null : late.corrected / late.requested,
    wronglyProcessed: wrong.size,
    wronglyProcessedCorrected: healed,
    wrongCorrectedRatio: wrong.size === 0 ? null : healed / wrong.size,
    loops: (live?.loops ?? 0) + phase2.loops,
    requested,
    lostRequests: requested - ended,
    deadLetteredNow: dlq,
    failureObjects: failures,
    evidenceBytesPerCorrection: reads.evidenceBytesPerCorrection,
    hourBytesPerCorrection: reads.hourBytesPerCorrection,
    evidenceReadRatio: reads.evidenceReadRatio,
    wallSeconds: (Date.now() - started) / 1000,
  });
} finally {
  clients.destroy();
  await stack.stop();
}

/**
 * Bytes fetched from S3 for one window's evidence, as the handler loads it (the device's part of each hour,
 * warm-up included), against every device's lines of the same hours; each window with a cold store.
 */
async function measureEvidenceReads(s3: S3Client, bucket: string, windows: readonly WindowResult[]) {
  const config = parseFleetConfig();
  const warmupMs = DEFAULT_WARMUP_MS;
  const sample = windows.filter((_, i) => i % Math.max(1, Math.floor(windows.length / 20)) === 0);
  let device = 0;
  let everyDevice = 0;
  for (const window of sample) {
    const start = Date.parse(window.windowStart);
    const narrow = new S3Store({ s3, bucket });
    await loadWindowEvidence(narrow, config, window.deviceId, start, warmupMs);
    device += narrow.fetched.bytes;
    const wide = new S3Store({ s3, bucket });
    await wide.partitionLines('results', start, start + config.windowMs);
    await wide.partitionLines('raw', start - warmupMs, start + config.windowMs);
    everyDevice += wide.fetched.bytes;
  }
  return {
    windowsSampled: sample.length,
    evidenceBytesPerCorrection: Math.round(device / sample.length),
    hourBytesPerCorrection: Math.round(everyDevice / sample.length),
    evidenceReadRatio: everyDevice === 0 ? null : Number((device / everyDevice).toFixed(4)),
  };
}
