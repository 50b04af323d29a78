import { CORRECTION_METRICS } from '../anomaly/correction/names.ts';
import { S3_PREFIXES } from '../consumers/contract/layout.ts';
import { DEFAULT_NAMES } from '../consumers/contract/routing.ts';
import { BATCH_METRICS } from '../consumers/observability/batch-metrics.ts';
import { MODEL_REVIEW_METRICS } from '../models/review/model-review.ts';

/**
 * Names the deployed runtimes and the dashboard agree on.
 *
 * The environment variable names are the ones consumers/runtimes/runtime.ts (`runtimeConfigFromEnv`)
 * reads; test/infra/config.test.ts feeds these names to it so a rename on either side fails a test.
 * The metric names are the ones the runtimes publish through the Embedded Metric Format (taken from the
 * modules that publish them where those exist).
 */

/**
 * Environment variables of the consumers (Fargate task and Lambda function) and of the correction
 * functions (anomaly/correction/lambda/config.ts `correctionLambdaConfigFromEnv`).
 */
export const RUNTIME_ENV = {
  streamName: 'FLEETSTREAM_STREAM',
  /**
   * Bucket of the per-shard state snapshots (`state/<stream>/<shardId>/…`); for the correction functions,
   * the one bucket of every data class that has no bucket variable of its own (the local layout).
   */
  stateBucket: 'FLEETSTREAM_BUCKET',
  /** The name under `state/` the snapshots are keyed by; set for a replay only (default: the stream name). */
  stateScope: 'FLEETSTREAM_STATE_SCOPE',
  resultsDeliveryStream: 'FLEETSTREAM_RESULTS_STREAM',
  rawDeliveryStream: 'FLEETSTREAM_RAW_STREAM',
  dlqUrl: 'FLEETSTREAM_DLQ_URL',
  /** The correction request queue: the consumers send to it, the correction handler consumes it. */
  correctionsQueueUrl: 'FLEETSTREAM_CORRECTIONS_QUEUE_URL',
  /** The SageMaker endpoint the consumers consult on in-stream alarms. */
  modelEndpoint: 'FLEETSTREAM_MODEL_ENDPOINT',
  /** The correction DLQ (not the rejected-records DLQ): the handler sends to it, the DLQ processor consumes it. */
  correctionsDlqUrl: 'FLEETSTREAM_CORRECTIONS_DLQ_URL',
  /** The correction history table (at most one automatic correction per item). */
  correctionTable: 'FLEETSTREAM_CORRECTION_TABLE',
  /** Results: the correction functions read old versions and write corrected ones. */
  resultsBucket: 'FLEETSTREAM_RESULTS_BUCKET',
  /** The raw archive the correction functions recalculate from. */
  rawBucket: 'FLEETSTREAM_RAW_BUCKET',
  /** Failure storage, written by the DLQ processor. */
  failuresBucket: 'FLEETSTREAM_FAILURES_BUCKET',
  /** Attempts the DLQ processor gives a dead letter (receives included) before failure storage. */
  correctionDlqMaxAttempts: 'FLEETSTREAM_CORRECTION_DLQ_MAX_ATTEMPTS',
} as const;

/**
 * The KCL application name, which is also the name of the lease table the MultiLangDaemon uses and
 * the CloudWatch namespace of its metrics. Same value as `applicationName` in
 * consumers/runtimes/multilang/fleetstream.properties; kept apart from the embedded runner's table.
 */
export const KCL_APPLICATION_NAME = 'fleetstream-multilang';

/** `/^state\//` keys of the snapshot store (consumers/leases/snapshot-store.ts). */
export const STATE_PREFIX = 'state/';

/**
 * Everything a replay consumer application names after its id, the same layout as the local replay
 * (pipeline/replay.ts): its own application (= lease table, = KCL metric namespace), its own state under
 * `state/<stream>/replay-<id>/` (shard ids start with `shardId-`, so it never meets the live state) and
 * its own outputs under `replay/<id>/`.
 */
export function replayNames(id: string) {
  const prefix = `replay/${id}/`;
  return {
    application: `${KCL_APPLICATION_NAME}-replay-${id}`,
    stateScope: `${DEFAULT_NAMES.stream}/replay-${id}`,
    resultsDeliveryStream: `${DEFAULT_NAMES.resultsDeliveryStream}-replay-${id}`,
    rawDeliveryStream: `${DEFAULT_NAMES.rawDeliveryStream}-replay-${id}`,
    deadLetterQueue: `${DEFAULT_NAMES.dlq}-replay-${id}`,
    onFailureQueue: `${DEFAULT_NAMES.stream}-replay-${id}-consumer-failures`,
    resultsPrefix: `${prefix}${S3_PREFIXES.results}`,
    rawPrefix: `${prefix}${S3_PREFIXES.raw}`,
    errorsPrefix: `${prefix}${S3_PREFIXES.errors}`,
  } as const;
}

/** CloudWatch namespace of the pipeline's own metrics (the default of consumers/observability/metrics.ts). */
export const METRICS_NAMESPACE = 'Fleetstream';

/** The `Runtime` dimension value each consumer runtime puts on its metrics. */
export const RUNTIME_DIMENSION = { fargate: 'multilang', lambda: 'lambda' } as const;

/** Metric names the dashboard and the alarms read. */
export const METRIC_NAMES = {
  recordsIn: BATCH_METRICS.recordsIn,
  recordsRejected: BATCH_METRICS.recordsRejected,
  /** Sink deliveries retried by the MultiLang host: sustained retries mean results are stuck. */
  deliveryRetries: 'DeliveryRetries',
  anomalies: BATCH_METRICS.anomalies,
  /**
   * Requests that ended healed, as the correction service counts them; published (EMF, no dimensions) by
   * the correction handler and the DLQ processor functions after each invocation.
   */
  correctionsApplied: CORRECTION_METRICS.corrected,
  /** Dead letters the DLQ processor stored as failures after its last attempt (same functions, same form). */
  correctionFailures: CORRECTION_METRICS.failures,
  /** The model review, when a model is deployed (models/review/model-review.ts). */
  model: MODEL_REVIEW_METRICS,
} as const;
