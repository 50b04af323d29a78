/**
 * Fleet configuration: the business rules and calculation settings of one fleet. Parsed and validated once
 * at start-up (`parseFleetConfig`); the core only ever sees a `FleetConfig` that passed validation.
 */
import { ConfigError } from './contract/errors.ts';
import { METRIC_NAME_PATTERN } from './contract/telemetry.ts';

export type MetricKind = 'gauge' | 'counter';

export interface MetricDefinition {
  /** Name as it appears in `detail.metrics`. */
  readonly name: string;
  /** `gauge` is an instantaneous reading; `counter` is cumulative and yields deltas. */
  readonly kind: MetricKind;
  /** Lowest physical value; readings below are rejected with METRIC_OUT_OF_RANGE. */
  readonly min: number;
  /** Highest physical value; readings above are rejected with METRIC_OUT_OF_RANGE. */
  readonly max: number;
  /**
   * Counters only: the value at which the counter rolls over to zero.
   * @default undefined — the counter never wraps; a drop is a reset or a negative delta
   */
  readonly wrapAt?: number;
  /**
   * Counters only: the highest plausible rate, in units per second of device time. A larger delta is
   * flagged COUNTER_IMPLAUSIBLE and withheld from consumption.
   * @default Infinity
   */
  readonly maxRatePerSecond?: number;
}

export interface FleetConfig {
  /**
   * Metrics that are range-checked and windowed. Other numeric metrics are carried through unchanged.
   * @default temperatureC, humidityPct, batteryV (gauges) and energyWh (counter)
   */
  readonly metrics: readonly MetricDefinition[];
  /** Largest accepted record, bytes. @default 65536 (Kinesis allows 1 MiB; telemetry is a few hundred bytes) */
  readonly maxRecordBytes: number;
  /** How far device time may run ahead of arrival time, ms. @default 300000 (5 min) */
  readonly maxClockSkewFutureMs: number;
  /** How far device time may lag arrival time, ms. @default 604800000 (7 days, the longest replay window used) */
  readonly maxEventAgeMs: number;
  /** Allowed firmware versions; when set, events without firmware are rejected. @default undefined — any firmware */
  readonly firmwareAllowList?: readonly string[];
  /** Tumbling window size by event time, ms. @default 60000 */
  readonly windowMs: number;
  /**
   * How long after a window's end (by the device's own latest event time) the window stays open for
   * out-of-order events, ms. Must be smaller than `windowMs`. @default 10000
   */
  readonly allowedLatenessMs: number;
  /**
   * A silent device's open window is closed once stream time (the newest arrival time the processor has
   * seen) passes window end + lateness + this, ms. @default 60000
   */
  readonly idleTimeoutMs: number;
  /** A counter drop to at most this fraction of the previous value is a reset (reboot). @default 0.1 */
  readonly counterResetFraction: number;
  /** Counters with `wrapAt`: a drop from the top `wrapMarginFraction` to the bottom one is a wrap. @default 0.1 */
  readonly wrapMarginFraction: number;
}

export const DEFAULT_METRICS: readonly MetricDefinition[] = [
  { name: 'temperatureC', kind: 'gauge', min: -60, max: 100 },
  { name: 'humidityPct', kind: 'gauge', min: 0, max: 100 },
  { name: 'batteryV', kind: 'gauge', min: 0, max: 60 },
  // 100 kW is far beyond any device this fleet meters: anything faster is a counter glitch.
  { name: 'energyWh', kind: 'counter', min: 0, max: 1e12, maxRatePerSecond: 100_000 / 3600 },
];

export const DEFAULT_FLEET_CONFIG: FleetConfig = {
  metrics: DEFAULT_METRICS,
  maxRecordBytes: 65_536,
  maxClockSkewFutureMs: 5 * 60_000,
  maxEventAgeMs: 7 * 24 * 3_600_000,
  windowMs: 60_000,
  allowedLatenessMs: 10_000,
  idleTimeoutMs: 60_000,
  counterResetFraction: 0.1,
  wrapMarginFraction: 0.1,
};

const metricNamePattern = new RegExp(METRIC_NAME_PATTERN);

function positive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`${name} must be a positive number, got ${value}`);
}

function fraction(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw new ConfigError(`${name} must be in (0, 1), got ${value}`);
}

/** Merges `overrides` onto the defaults and validates the result. Throws ConfigError with the first problem. */
export function parseFleetConfig(overrides: Partial<FleetConfig> = {}): FleetConfig {
  const config: FleetConfig = { ...DEFAULT_FLEET_CONFIG, ...overrides };
  positive('maxRecordBytes', config.maxRecordBytes);
  positive('maxClockSkewFutureMs', config.maxClockSkewFutureMs);
  positive('maxEventAgeMs', config.maxEventAgeMs);
  positive('windowMs', config.windowMs);
  positive('idleTimeoutMs', config.idleTimeoutMs);
  if (!Number.isInteger(config.windowMs)) throw new ConfigError('windowMs must be a whole number of ms');
  if (!(config.allowedLatenessMs >= 0 && config.allowedLatenessMs < config.windowMs)) {
    // One open window per device plus at most one still inside its lateness keeps state bounded.
    throw new ConfigError(
      `allowedLatenessMs must be in [0, windowMs), got ${config.allowedLatenessMs} with windowMs ${config.windowMs}`,
    );
  }
  fraction('counterResetFraction', config.counterResetFraction);
  fraction('wrapMarginFraction', config.wrapMarginFraction);
  if (config.metrics.length === 0) throw new ConfigError('metrics must name at least one metric');
  const seen = new Set<string>();
  for (const metric of config.metrics) {
    if (!metricNamePattern.test(metric.name))
      throw new ConfigError(`metric name '${metric.name}' is not valid`);
    if (seen.has(metric.name)) throw new ConfigError(`metric '${metric.name}' is defined twice`);
    seen.add(metric.name);
    if (metric.kind !== 'gauge' && metric.kind !== 'counter') {
      throw new ConfigError(`metric '${metric.name}': kind must be 'gauge' or 'counter'`);
    }
    if (!(Number.isFinite(metric.min) && Number.isFinite(metric.max) && metric.min < metric.max)) {
      throw new ConfigError(`metric '${metric.name}': need finite min < max`);
    }
    if (metric.wrapAt !== undefined && (metric.kind !== 'counter' || !(metric.wrapAt > 0))) {
      throw new ConfigError(`metric '${metric.name}': wrapAt applies to counters and must be positive`);
    }
    if (metric.maxRatePerSecond !== undefined && !(metric.maxRatePerSecond > 0)) {
      throw new ConfigError(`metric '${metric.name}': maxRatePerSecond must be positive`);
    }
  }
  if (config.firmwareAllowList !== undefined && config.firmwareAllowList.length === 0) {
    throw new ConfigError('firmwareAllowList, when given, must list at least one version');
  }
  return Object.freeze({
    ...config,
    metrics: Object.freeze(config.metrics.map((m) => Object.freeze({ ...m }))),
  });
}
