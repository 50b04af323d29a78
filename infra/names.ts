import { CORRECTION_METRICS } from '../anomaly/correction/names.ts';
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

/** Environment variables of the consumers (Fargate task and Lambda function). */
export const RUNTIME_ENV = {
  streamName: 'FLEETSTREAM_STREAM',
  /** Bucket of the per-shard state snapshots (`state/<stream>/<shardId>/…`). */
  stateBucket: 'FLEETSTREAM_BUCKET',
  resultsDeliveryStream: 'FLEETSTREAM_RESULTS_STREAM',
  rawDeliveryStream: 'FLEETSTREAM_RAW_STREAM',
  dlqUrl: 'FLEETSTREAM_DLQ_URL',
  /** Where the consumers send correction requests. */
  correctionsQueueUrl: 'FLEETSTREAM_CORRECTIONS_QUEUE_URL',
  /** The SageMaker endpoint the consumers consult on in-stream alarms. */
  modelEndpoint: 'FLEETSTREAM_MODEL_ENDPOINT',
  /** Proposed for the correction handler and DLQ processor (issue 6). */
  correctionTable: 'FLEETSTREAM_CORRECTION_TABLE',
  failuresBucket: 'FLEETSTREAM_FAILURES_BUCKET',
  rawBucket: 'FLEETSTREAM_RAW_BUCKET',
} as const;

/**
 * The KCL application name, which is also the name of the lease table the MultiLangDaemon uses and
 * the CloudWatch namespace of its metrics. Same value as `applicationName` in
 * consumers/runtimes/multilang/fleetstream.properties; kept apart from the embedded runner's table.
 */
export const KCL_APPLICATION_NAME = 'fleetstream-multilang';

/** `/^state\//` keys of the snapshot store (consumers/leases/snapshot-store.ts). */
export const STATE_PREFIX = 'state/';

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
   * Corrections that produced a new version, as the correction service counts them. Nothing publishes it
   * in AWS until a correction handler is deployed (`correctionHandlerEntry`).
   */
  correctionsApplied: CORRECTION_METRICS.corrected,
  /** The model review, when a model is deployed (models/review/model-review.ts). */
  model: MODEL_REVIEW_METRICS,
} as const;
