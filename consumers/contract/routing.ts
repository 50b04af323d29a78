/**
 * How telemetry is routed from the EventBridge bus to Kinesis. The local EventBridge stand-in and the CDK
 * rule both read these constants, so the pattern that is tested is the pattern that is deployed.
 */
import { TELEMETRY_DETAIL_TYPE, TELEMETRY_SOURCE } from './telemetry.ts';

/** The EventBridge rule's event pattern. */
export const TELEMETRY_EVENT_PATTERN = {
  source: [TELEMETRY_SOURCE],
  'detail-type': [TELEMETRY_DETAIL_TYPE],
} as const;

/**
 * Kinesis partition key path for the rule's target. Without it EventBridge picks a random key and a
 * device's events scatter over shards, which destroys per-device order.
 */
export const PARTITION_KEY_PATH = '$.detail.deviceId';

/** Default resource names, shared by the local stack, the CLI and the CDK app. */
export const DEFAULT_NAMES = {
  bus: 'fleetstream-telemetry',
  rule: 'fleetstream-telemetry-to-kinesis',
  stream: 'fleetstream-telemetry',
  leaseTable: 'fleetstream-leases',
  correctionTable: 'fleetstream-corrections',
  resultsDeliveryStream: 'fleetstream-results',
  rawDeliveryStream: 'fleetstream-raw',
  bucket: 'fleetstream-data',
  dlq: 'fleetstream-dlq',
  modelEndpoint: 'fleetstream-rcf',
} as const;
