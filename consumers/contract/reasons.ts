/**
 * Stable reason codes. Every rejected record carries one of these to the DLQ; dashboards, alarms and
 * the operator CLI group by them, so a code is never renamed or reused for another meaning.
 */
export const RejectReason = {
  /** The record is larger than the configured limit (Kinesis allows 1 MiB; telemetry should be tiny). */
  RecordTooLarge: 'RECORD_TOO_LARGE',
  /** An empty record: nothing to decode. */
  EmptyRecord: 'EMPTY_RECORD',
  /** The bytes are not valid UTF-8. */
  InvalidUtf8: 'INVALID_UTF8',
  /** The text is not JSON. */
  InvalidJson: 'INVALID_JSON',
  /** Valid JSON, but not an EventBridge event of source `iot.fleet` and detail-type `Telemetry`. */
  NotTelemetry: 'NOT_TELEMETRY',
  /** A telemetry event that breaks the JSON Schema (the error names the path). */
  SchemaViolation: 'SCHEMA_VIOLATION',
  /** `ts` matches the pattern but is not a real instant (e.g. month 13). */
  InvalidTimestamp: 'INVALID_TIMESTAMP',
  /** A metric is NaN or ±Infinity (JSON can carry 1e999, which parses to Infinity). */
  NonFiniteMetric: 'NON_FINITE_METRIC',
  /** A metric is outside the physical range configured for the fleet. */
  MetricOutOfRange: 'METRIC_OUT_OF_RANGE',
  /** Device time is further ahead of arrival time than the fleet allows. */
  ClockSkewFuture: 'CLOCK_SKEW_FUTURE',
  /** Device time is further behind arrival time than the fleet allows (older than the replay window). */
  ClockSkewPast: 'CLOCK_SKEW_PAST',
  /** `seq` went backwards while device time went forwards: the device's sequence is not trustworthy. */
  SeqRegression: 'SEQ_REGRESSION',
  /** Firmware is missing or not on the fleet's allow-list. */
  FirmwareNotAllowed: 'FIRMWARE_NOT_ALLOWED',
  /**
   * The runtime's record envelope is broken (a Lambda event's `kinesis` object, a MultiLang record): data
   * that is not base64, a missing sequence number or arrival time. The message names the field.
   */
  MalformedEnvelope: 'MALFORMED_ENVELOPE',
} as const;

export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

export const ALL_REJECT_REASONS: readonly RejectReason[] = Object.values(RejectReason);

/** Why a reading was flagged (accepted, but a value was withheld or is suspicious). */
export const ReadingFlag = {
  /** The cumulative counter dropped to a small value: the device rebooted. The delta counts from zero. */
  CounterReset: 'COUNTER_RESET',
  /** The counter passed its configured maximum and started again. The delta spans the wrap. */
  CounterWrap: 'COUNTER_WRAP',
  /** The counter went down without a reset or wrap: not consumption, withheld. */
  CounterNegative: 'COUNTER_NEGATIVE',
  /** The delta implies a rate above the configured plausible maximum: withheld. */
  CounterImplausible: 'COUNTER_IMPLAUSIBLE',
  /** The reading arrived after a later one of the same device (it filled a reported gap). */
  OutOfOrder: 'OUT_OF_ORDER',
  /** The reading's window had already been emitted: a correction request was raised for it. */
  Late: 'LATE',
} as const;

export type ReadingFlag = (typeof ReadingFlag)[keyof typeof ReadingFlag];
