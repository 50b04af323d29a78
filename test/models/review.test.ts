import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CorrectionReason, type ReadingResult } from '../../consumers/contract/outputs.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { encodeOutput } from '../../consumers/processor/encode.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { BatchOutcome } from '../../consumers/processor/types.ts';
import { createModelClient } from '../../models/client/model-client.ts';
import { createAnomalyCombiner } from '../../models/combine.ts';
import {
  createModelReview,
  MODEL_REVIEW_METRICS,
  type ModelReview,
} from '../../models/review/model-review.ts';
import { type ModelServer, startModelServer } from '../../models/serving/server.ts';
import { parseLines, record, T0 } from '../core/fixtures.ts';
import { runtimeClient, smoothTemperature, TEMPERATURE_SHINGLE, temperatureForest } from './helpers.ts';

const SHINGLE = TEMPERATURE_SHINGLE;
const temperature = smoothTemperature;

function review(runtime: SageMakerRuntimeClient, sampleRate: number): ModelReview {
  return createModelReview({
    client: createModelClient({
      runtime,
      endpointName: 'fleetstream-rcf',
      gate: 0.5,
      sampleRate,
      breaker: { failureThreshold: 1, cooldownMs: 60_000 },
    }),
    combiner: createAnomalyCombiner({ threshold: 0.5 }),
    metrics: ['temperatureC'],
    shingleSize: SHINGLE,
  });
}

/** 400 readings of dev-1 through the real processor, with a spike at seq 300. */
function spikeBatch(): BatchOutcome {
  const processor = createRecordProcessor({ keepScoredReadings: true });
  const records = [];
  for (let seq = 0; seq < 400; seq++) {
    const temperatureC = seq === 300 ? 55 : temperature(seq);
    records.push(record({ seq, tsMs: T0 + seq * 1000, metrics: { temperatureC } }));
  }
  return processor.process(records);
}

/** A hand-made batch: one ordinary-looking reading the in-stream detector (say) alarmed on at 0.6. */
function falseAlarmBatch(metric = 'temperatureC'): BatchOutcome {
  const seq = 1000;
  const reading: ReadingResult = {
    kind: 'reading',
    id: `dev-1:r:${seq}`,
    deviceId: 'dev-1',
    seq,
    ts: new Date(T0 + seq * 1000).toISOString(),
    metrics: { temperatureC: temperature(seq) },
    deltas: {},
    flags: [],
    anomalyScore: 0.6,
  };
  const request = {
    kind: 'correction-request' as const,
    id: `dev-1:w:${T0 + 960_000}:c:${CorrectionReason.Anomaly}`,
    reason: CorrectionReason.Anomaly,
    deviceId: 'dev-1',
    targetId: `dev-1:w:${T0 + 960_000}`,
    seq,
  };
  const lead = [997, 998, 999].map((s) => ({
    ...reading,
    id: `dev-1:r:${s}`,
    seq: s,
    metrics: { temperatureC: temperature(s) },
    anomalyScore: 0.1,
  }));
  const anomaly = {
    kind: 'anomaly' as const,
    id: `dev-1:a:${seq}:${metric}`,
    deviceId: 'dev-1',
    seq,
    ts: reading.ts,
    metric,
    scored: 'value' as const,
    observed: 21,
    expectedLow: 20.5,
    expectedHigh: 20.9,
    detectors: ['ewma'],
    score: 0.6,
    resultId: request.targetId,
  };
  return {
    results: [encodeOutput(anomaly, T0 + seq * 1000), encodeOutput(request, T0 + seq * 1000)],
    archive: [],
    rejections: [],
    corrections: [request],
    counts: { in: 4, accepted: 4, rejected: 0, duplicates: 0 },
    scoredReadings: [...lead, reading],
  };
}

describe('model review: the served model as a second opinion in the stream', () => {
  let server: ModelServer;
  let runtime: SageMakerRuntimeClient;
  before(async () => {
    server = await startModelServer({ model: temperatureForest(), host: '127.0.0.1', port: 0 });
    runtime = runtimeClient(server.url, 1);
  });
  after(async () => {
    runtime?.destroy();
    await server?.close();
  });

  it('confirms a real spike over HTTP: the correction request stays and a model-review result explains it', async () => {
    const stage = review(runtime, 1);
    const processed = spikeBatch();
    assert.ok(
      processed.corrections.some((c) => c.seq === 300),
      'the in-stream detector alarms on the spike',
    );
    const reviewed = await stage.review(processed);
    const reviews = parseLines(reviewed.results).filter((r) => r.kind === 'model-review');
    const spike = reviews.find((r) => r.seq === 300);
    assert.ok(spike !== undefined);
    assert.equal(spike.verdict, 'confirmed');
    assert.ok(
      (spike.modelScore as number) > 0 && (spike.calibratedScore as number) > 0.3,
      JSON.stringify(spike),
    );
    assert.ok(reviewed.corrections.some((c) => c.seq === 300));
    const metrics = stage.metrics();
    assert.ok(metrics.confirmed >= 1);
    assert.ok(metrics.requests >= 1 && metrics.failures === 0);
  });

  it('dismisses an alarm the model finds ordinary: the request is withheld, the audit result says why', async () => {
    const stage = review(runtime, 1);
    // Warm the calibrator on ordinary traffic first, as the sample does in a running stream.
    await stage.review(spikeBatch());
    const reviewed = await stage.review(falseAlarmBatch());
    const [verdict] = parseLines(reviewed.results).filter((r) => r.kind === 'model-review');
    assert.equal(verdict?.verdict, 'dismissed', JSON.stringify(verdict));
    assert.ok((verdict?.finalScore as number) < 0.5);
    assert.deepEqual(reviewed.corrections, []);
    assert.deepEqual(
      parseLines(reviewed.results).map((r) => r.kind),
      ['anomaly', 'model-review'],
      'the withheld request left the results; the anomaly record stays for audit',
    );
    assert.equal(verdict?.withheldRequestId, `dev-1:w:${T0 + 960_000}:c:${CorrectionReason.Anomaly}`);
    assert.equal(stage.metrics().withheldRequests, 1);
  });

  it('leaves an alarm on a metric the model does not see to the in-stream score', async () => {
    const stage = review(runtime, 1);
    await stage.review(spikeBatch());
    const batch = falseAlarmBatch('humidityPct');
    const reviewed = await stage.review(batch);
    const [verdict] = parseLines(reviewed.results).filter((r) => r.kind === 'model-review');
    assert.equal(verdict?.verdict, 'in-stream-only');
    assert.deepEqual(reviewed.corrections, batch.corrections);
  });

  it('with the endpoint down, the in-stream score decides alone and the metrics say so', async () => {
    const down = runtimeClient('http://127.0.0.1:9', 1);
    try {
      const stage = review(down, 1);
      const processed = spikeBatch();
      const reviewed = await stage.review(processed);
      assert.deepEqual(reviewed.corrections, processed.corrections, 'no request is withheld');
      const reviews = parseLines(reviewed.results).filter((r) => r.kind === 'model-review');
      assert.ok(reviews.length > 0 && reviews.every((r) => r.verdict === 'in-stream-only'));
      const metrics = stage.metrics();
      assert.equal(metrics.failures, 1);
      assert.equal(metrics.breaker_state, 'open');
      assert.equal(metrics.dismissed, 0);
    } finally {
      down.destroy();
    }
  });

  it('passes a batch without scored readings through untouched', async () => {
    const stage = review(runtime, 1);
    const processed = createRecordProcessor().process([record({ seq: 1, tsMs: T0 })]);
    assert.equal(await stage.review(processed), processed);
  });

  it('publishes what it counted since the last time, and whether the stream runs without the model', async () => {
    const lines: string[] = [];
    const metrics = createMetrics({ write: (line) => lines.push(line) });
    const published = (): Record<string, number> => {
      metrics.flush();
      return JSON.parse(lines.at(-1) ?? '{}') as Record<string, number>;
    };
    const stage = review(runtime, 1);
    await stage.review(spikeBatch());
    stage.publishMetrics(metrics);
    const first = published();
    assert.equal(first[MODEL_REVIEW_METRICS.requests], 1);
    assert.ok(first[MODEL_REVIEW_METRICS.confirmed]! >= 1);
    assert.equal(first[MODEL_REVIEW_METRICS.breakerOpen], 0);
    // Nothing new: no counts, only the gauge.
    stage.publishMetrics(metrics);
    const second = published();
    assert.equal(second[MODEL_REVIEW_METRICS.requests], undefined);
    assert.equal(second[MODEL_REVIEW_METRICS.breakerOpen], 0);

    const down = runtimeClient('http://127.0.0.1:9', 1);
    try {
      const failing = review(down, 1);
      await failing.review(spikeBatch());
      failing.publishMetrics(metrics);
      const third = published();
      assert.equal(third[MODEL_REVIEW_METRICS.failures], 1);
      assert.equal(third[MODEL_REVIEW_METRICS.breakerOpen], 1);
      assert.ok(third[MODEL_REVIEW_METRICS.inStreamOnly]! >= 1);
    } finally {
      down.destroy();
    }
  });
});
