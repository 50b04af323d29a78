/**
 * Names the deployed runtimes and the dashboard agree on. The runtimes read the environment variables
 * below (set by the CDK app on the Fargate task and the Lambda functions) and publish the metrics below
 * in the `Fleetstream` namespace through the Embedded Metric Format, without dimensions.
 */

/** Environment variables the consumers, the correction handler and the DLQ processor read at start-up. */
export const RUNTIME_ENV = {
  streamName: 'FLEETSTREAM_STREAM_NAME',
  leaseTable: 'FLEETSTREAM_LEASE_TABLE',
  correctionTable: 'FLEETSTREAM_CORRECTION_TABLE',
  resultsDeliveryStream: 'FLEETSTREAM_RESULTS_DELIVERY_STREAM',
  rawDeliveryStream: 'FLEETSTREAM_RAW_DELIVERY_STREAM',
  dlqUrl: 'FLEETSTREAM_DLQ_URL',
  correctionsQueueUrl: 'FLEETSTREAM_CORRECTIONS_QUEUE_URL',
  failuresBucket: 'FLEETSTREAM_FAILURES_BUCKET',
  rawBucket: 'FLEETSTREAM_RAW_BUCKET',
  modelEndpoint: 'FLEETSTREAM_MODEL_ENDPOINT',
} as const;

/** CloudWatch namespace of the pipeline's own metrics (the default of consumers/observability/metrics.ts). */
export const METRICS_NAMESPACE = 'Fleetstream';

/** Metric names the dashboard and the alarms read. */
export const METRIC_NAMES = {
  recordsIn: 'RecordsIn',
  recordsRejected: 'RecordsRejected',
  processingErrors: 'ProcessingErrors',
  anomalies: 'AnomaliesFlagged',
  correctionsApplied: 'CorrectionsApplied',
} as const;
