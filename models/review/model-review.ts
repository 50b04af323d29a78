/**
 * The model's second opinion inside the stream, between processing a shard batch and delivering it.
 *
 * Per batch: the processor's scored readings (in stream order) extend each device's shingle of the model's
 * metrics; readings the in-stream detector alarmed on (on a model metric: an alarm on any other metric stands
 * on the in-stream score), plus a small deterministic sample of the rest, go to
 * the served model in one batched InvokeEndpoint (models/client). The sample's raw scores keep a
 * calibrator's picture of ordinary traffic, against which an alarm's raw score becomes a [0, 1] `excess`;
 * combine.ts turns in-stream and model scores into the final decision. A reading the model dismisses keeps
 * its anomaly record (audit) but its ANOMALY correction request is withheld from the correction queue; one
 * it confirms, or could not score, triggers correction as before. Every reviewed alarm leaves a
 * `model-review` result saying what was decided and why.
 *
 * Until the calibrator has seen `minSamples` scores the model's answers only calibrate; alarms are decided
 * in-stream. Shingles live here, not in the calculation snapshot: after a lease moves, a device's first
 * `shingleSize − 1` readings have no full shingle and are decided by the in-stream score alone.
 */

import { ConfigError } from '../../consumers/contract/errors.ts';
import type { CorrectionRequest, ReadingResult } from '../../consumers/contract/outputs.ts';
import { CorrectionReason } from '../../consumers/contract/outputs.ts';
import type { Metrics } from '../../consumers/observability/metrics.ts';
import { encodeOutput } from '../../consumers/processor/encode.ts';
import type { BatchOutcome } from '../../consumers/processor/types.ts';
import { ScoreCalibrator } from '../calibrate.ts';
import type { ModelClient, ModelClientMetrics } from '../client/model-client.ts';
import type { AnomalyCombiner } from '../combine.ts';
import { Shingle } from '../rcf/shingle.ts';

export interface ModelReviewOptions {
  readonly client: ModelClient;
  readonly combiner: AnomalyCombiner;
  /**
   * Metrics forming one model record, in the order the model was trained on (`train-model --metrics`).
   * @default ['temperatureC']
   */
  readonly metrics?: readonly string[];
  /** Records per shingle, as trained. @default 8 */
  readonly shingleSize?: number;
  /** @default a ScoreCalibrator with its defaults */
  readonly calibrator?: ScoreCalibrator;
}

/** One reviewed alarm, written to results. */
export interface ModelReviewRecord {
  readonly kind: 'model-review';
  /** `${readingId}:mr` */
  readonly id: string;
  readonly deviceId: string;
  readonly seq: number;
  readonly readingId: string;
  readonly inStreamScore: number;
  /** The model's raw score (mean collusive displacement), or null when it did not score. */
  readonly modelScore: number | null;
  /** The raw score calibrated to [0, 1] against the sampled ordinary traffic, or null. */
  readonly calibratedScore: number | null;
  readonly finalScore: number;
  /** `dismissed` withholds the reading's ANOMALY correction request unless another alarm upholds it. */
  readonly verdict: 'confirmed' | 'dismissed' | 'in-stream-only';
  /** The correction request this review withheld (it is then in neither the results nor the queue). */
  readonly withheldRequestId?: string;
}

export interface ModelReviewMetrics extends ModelClientMetrics {
  readonly confirmed: number;
  readonly dismissed: number;
  /** Alarms decided on the in-stream score alone (no full shingle, gated, breaker open, endpoint failing). */
  readonly inStreamOnly: number;
  /** ANOMALY correction requests withheld because every alarm behind them was dismissed. */
  readonly withheldRequests: number;
}

export interface ModelReview {
  review(outcome: BatchOutcome): Promise<BatchOutcome>;
  metrics(): ModelReviewMetrics;
  /** Counts since the last call, and the breaker's state, as CloudWatch metrics (MODEL_REVIEW_METRICS). */
  publishMetrics(metrics: Metrics): void;
}

/**
 * What a runtime publishes for the model review: the counters as sums since the last batch, and
 * `breakerOpen` as a gauge: 1 while the breaker is open or probing, i.e. while alarms are decided on the
 * in-stream score alone because the endpoint failed, else 0.
 */
export const MODEL_REVIEW_METRICS = {
  requests: 'ModelRequests',
  invoked: 'ModelReadingsScored',
  failures: 'ModelFailures',
  timeouts: 'ModelTimeouts',
  skipped_open: 'ModelSkippedBreakerOpen',
  confirmed: 'ModelAlarmsConfirmed',
  dismissed: 'ModelAlarmsDismissed',
  inStreamOnly: 'ModelAlarmsInStreamOnly',
  withheldRequests: 'ModelRequestsWithheld',
  breakerOpen: 'ModelBreakerOpen',
} as const;

type CountedMetric = Exclude<keyof typeof MODEL_REVIEW_METRICS, 'breakerOpen'>;
const COUNTED = Object.keys(MODEL_REVIEW_METRICS).filter((k) => k !== 'breakerOpen') as CountedMetric[];

interface Candidate {
  readonly reading: ReadingResult;
  readonly features: number[];
  readonly alarmed: boolean;
}

export function createModelReview(options: ModelReviewOptions): ModelReview {
  const metrics = options.metrics ?? ['temperatureC'];
  const shingleSize = options.shingleSize ?? 8;
  if (metrics.length === 0) throw new ConfigError('the model review needs at least one metric');
  if (!Number.isInteger(shingleSize) || shingleSize < 1) {
    throw new ConfigError('shingleSize must be a positive integer');
  }
  const dim = metrics.length;
  const modelMetrics = new Set(metrics);
  const calibrator = options.calibrator ?? new ScoreCalibrator();
  const shingles = new Map<string, Shingle>();
  /** One reading's model metrics, reused: Shingle.push copies it. */
  const record = new Float64Array(dim);
  const counts = { confirmed: 0, dismissed: 0, inStreamOnly: 0, withheldRequests: 0 };
  /** What publishMetrics last published, to publish differences. */
  const published = new Map<CountedMetric, number>();

  /**
   * Adds the reading's model metrics to its device's shingle; the shingle (oldest first, reused by the next
   * call) once full, else undefined. A reading without every model metric breaks the shingle.
   */
  function extend(reading: ReadingResult): Float64Array | undefined {
    for (let j = 0; j < dim; j++) {
      const value = reading.metrics[metrics[j]!];
      if (value === undefined) {
        shingles.delete(reading.deviceId);
        return undefined;
      }
      record[j] = value;
    }
    let shingle = shingles.get(reading.deviceId);
    if (shingle === undefined) {
      shingle = new Shingle(dim, shingleSize);
      shingles.set(reading.deviceId, shingle);
    }
    return shingle.push(record);
  }

  return {
    async review(outcome) {
      const readings = outcome.scoredReadings;
      if (readings === undefined || readings.length === 0) return outcome;
      // Which readings alarmed, and on which metrics: anomaly ids are `${deviceId}:a:${seq}:${metric}`.
      const modelMetricAlarms = new Set<string>();
      const otherMetricAlarms = new Set<string>();
      for (const output of outcome.results) {
        if (output.kind !== 'anomaly') continue;
        const cut = output.id.lastIndexOf(':');
        const reading = output.id.slice(0, cut).replace(/:a:(\d+)$/, ':$1');
        (modelMetrics.has(output.id.slice(cut + 1)) ? modelMetricAlarms : otherMetricAlarms).add(reading);
      }

      const candidates: Candidate[] = [];
      const unscoredAlarms: ReadingResult[] = [];
      for (const reading of readings) {
        const features = extend(reading);
        const key = `${reading.deviceId}:${reading.seq}`;
        // The model sees only its own metrics: an alarm on any other stands on the in-stream score.
        if (otherMetricAlarms.has(key)) {
          unscoredAlarms.push(reading);
          continue;
        }
        const alarmed = modelMetricAlarms.has(key);
        const score = reading.anomalyScore ?? 0;
        if (features !== undefined && options.client.wants(reading.id, score)) {
          // Only a reading that goes to the model gets its own copy of the shingle.
          candidates.push({ reading, features: Array.from(features), alarmed });
        } else if (alarmed) {
          unscoredAlarms.push(reading);
        }
      }

      const modelScores =
        candidates.length === 0
          ? []
          : await options.client.scoreBatch(
              candidates.map((c) => ({
                id: c.reading.id,
                inStreamScore: c.reading.anomalyScore ?? 0,
                features: c.features,
              })),
            );

      const reviews: { record: ModelReviewRecord; ts: string }[] = [];
      const dismissed = new Set<string>();
      candidates.forEach((candidate, i) => {
        const raw = modelScores[i];
        // Calibrate against the traffic seen before this score, then let it join that picture.
        // Before the sample has shown what ordinary scores look like, a raw score says nothing.
        const calibrated = raw === undefined || !calibrator.warm ? undefined : calibrator.excess(raw);
        if (raw !== undefined) calibrator.observe(raw);
        if (!candidate.alarmed) return;
        const inStream = candidate.reading.anomalyScore ?? 0;
        const decision = options.combiner.combine(inStream, calibrated);
        const verdict = !decision.usedModel
          ? 'in-stream-only'
          : decision.anomalous
            ? 'confirmed'
            : 'dismissed';
        if (verdict === 'dismissed') dismissed.add(`${candidate.reading.deviceId}:${candidate.reading.seq}`);
        reviews.push({
          record: reviewRecord(candidate.reading, raw, calibrated, decision.score, verdict),
          ts: candidate.reading.ts,
        });
      });
      for (const reading of unscoredAlarms) {
        const inStream = reading.anomalyScore ?? 0;
        reviews.push({
          record: reviewRecord(reading, undefined, undefined, inStream, 'in-stream-only'),
          ts: reading.ts,
        });
      }
      for (const { record: review } of reviews) {
        if (review.verdict === 'confirmed') counts.confirmed++;
        else if (review.verdict === 'dismissed') counts.dismissed++;
        else counts.inStreamOnly++;
      }
      if (reviews.length === 0) return outcome;

      // A window's requests share one id; it goes out if any alarm behind it in this batch still stands.
      // Requests and review records both name the reading that raised them by device and seq.
      const requestKey = (r: { readonly deviceId: string; readonly seq?: number | undefined }) =>
        `${r.deviceId}:${r.seq}`;
      const isDismissed = (r: CorrectionRequest) =>
        r.reason === CorrectionReason.Anomaly && dismissed.has(requestKey(r));
      const standing = new Set(outcome.corrections.filter((r) => !isDismissed(r)).map((r) => r.id));
      const withheldByReading = new Map<string, string>();
      for (const request of outcome.corrections) {
        if (!standing.has(request.id)) withheldByReading.set(requestKey(request), request.id);
      }
      const withheld = new Set(withheldByReading.values());
      counts.withheldRequests += withheld.size;
      const corrections =
        withheld.size === 0 ? outcome.corrections : outcome.corrections.filter((r) => !withheld.has(r.id));
      // A withheld request leaves the results too (everything downstream reads requests from either);
      // the review record that withheld it names it.
      const results =
        withheld.size === 0
          ? outcome.results
          : outcome.results.filter((o) => !(o.kind === 'correction-request' && withheld.has(o.id)));
      return {
        ...outcome,
        results: [
          ...results,
          ...reviews.map(({ record, ts }) => {
            const withheldRequestId =
              record.verdict === 'dismissed' ? withheldByReading.get(requestKey(record)) : undefined;
            return encodeOutput(
              withheldRequestId === undefined ? record : { ...record, withheldRequestId },
              Date.parse(ts),
            );
          }),
        ],
        corrections,
      };
    },
    metrics: () => ({ ...options.client.metrics(), ...counts }),
    publishMetrics(into) {
      const now = { ...options.client.metrics(), ...counts };
      for (const key of COUNTED) {
        const change = now[key] - (published.get(key) ?? 0);
        if (change !== 0) into.count(MODEL_REVIEW_METRICS[key], change);
        published.set(key, now[key]);
      }
      into.gauge(MODEL_REVIEW_METRICS.breakerOpen, now.breaker_state === 'closed' ? 0 : 1, 'Count');
    },
  };
}

function reviewRecord(
  reading: ReadingResult,
  raw: number | undefined,
  calibrated: number | undefined,
  finalScore: number,
  verdict: ModelReviewRecord['verdict'],
): ModelReviewRecord {
  return {
    kind: 'model-review',
    id: `${reading.id}:mr`,
    deviceId: reading.deviceId,
    seq: reading.seq,
    readingId: reading.id,
    inStreamScore: reading.anomalyScore ?? 0,
    modelScore: raw ?? null,
    calibratedScore: calibrated ?? null,
    finalScore,
    verdict,
  };
}
