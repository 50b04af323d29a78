/**
 * Labeled fault injection. Faults are planned up front from the seed, as exact counts placed at random
 * readings (not coin flips per reading), so even a small run contains every fault type of its mix and the
 * ground truth knows each one. Two families:
 * - value faults change a metric over a range of a device's readings (the values stay physically
 *   plausible, so the records are accepted and it is the anomaly detector's job to notice);
 * - record faults change how one reading travels: dropped, duplicated, delayed, clock-skewed, malformed.
 */
import type { FleetConfig } from '../consumers/config.ts';
import { RejectReason } from '../consumers/contract/reasons.ts';
import type { FleetSpec } from './fleet.ts';
import { readingTimeMs } from './fleet.ts';
import type { Rng } from './random.ts';
import type { DeviceProfile } from './signals.ts';

export const VALUE_FAULTS = ['spike', 'drift', 'stuck', 'level-shift'] as const;
export type ValueFault = (typeof VALUE_FAULTS)[number];

export const RECORD_FAULTS = [
  'dropped',
  'duplicated',
  'out-of-order',
  'late',
  'clock-skew-future',
  'clock-skew-past',
  'malformed-invalid-json',
  'malformed-non-utf8',
  'malformed-wrong-type',
  'malformed-missing-field',
  'malformed-non-finite',
  'malformed-out-of-range',
  'malformed-invalid-timestamp',
] as const;
export type RecordFault = (typeof RECORD_FAULTS)[number];

export type FaultType = ValueFault | RecordFault;
export const FAULT_TYPES: readonly FaultType[] = [...VALUE_FAULTS, ...RECORD_FAULTS];

/** Metrics value faults are applied to (the counter is left alone: its faults are resets, seen as reboots). */
export const GAUGE_METRICS = ['temperatureC', 'humidityPct', 'batteryV'] as const;
export type GaugeMetric = (typeof GAUGE_METRICS)[number];

/** The reason code the pipeline must reject each rejecting fault with (consumers/contract/reasons.ts). */
export const EXPECTED_REJECTION: Readonly<Partial<Record<RecordFault, RejectReason>>> = {
  'clock-skew-future': RejectReason.ClockSkewFuture,
  'clock-skew-past': RejectReason.ClockSkewPast,
  'malformed-invalid-json': RejectReason.InvalidJson,
  'malformed-non-utf8': RejectReason.InvalidUtf8,
  'malformed-wrong-type': RejectReason.SchemaViolation,
  'malformed-missing-field': RejectReason.SchemaViolation,
  'malformed-non-finite': RejectReason.NonFiniteMetric,
  'malformed-out-of-range': RejectReason.MetricOutOfRange,
  'malformed-invalid-timestamp': RejectReason.InvalidTimestamp,
};

/** Faults per reading, by type: for value faults the share of readings where one starts. */
export type FaultMix = Readonly<Record<FaultType, number>>;

const none = Object.fromEntries(FAULT_TYPES.map((type) => [type, 0])) as Record<FaultType, number>;

export const FAULT_PRESETS: Readonly<Record<'default' | 'none', FaultMix>> = {
  none: Object.freeze({ ...none }),
  // Modest rates; with the at-least-one rule below every type shows up in any run of a few hundred readings.
  default: Object.freeze({
    ...none,
    spike: 0.002,
    drift: 0.0005,
    stuck: 0.0005,
    'level-shift': 0.0005,
    dropped: 0.004,
    duplicated: 0.004,
    'out-of-order': 0.004,
    late: 0.002,
    'clock-skew-future': 0.001,
    'clock-skew-past': 0.001,
    'malformed-invalid-json': 0.001,
    'malformed-non-utf8': 0.001,
    'malformed-wrong-type': 0.001,
    'malformed-missing-field': 0.001,
    'malformed-non-finite': 0.001,
    'malformed-out-of-range': 0.001,
    'malformed-invalid-timestamp': 0.001,
  }),
};

export interface FaultTiming {
  /**
   * How long an out-of-order reading is held back, device time ms. It must pass at least one later reading,
   * yet stay inside the pipeline's allowed lateness so it is reordered, not late.
   * @default [1.1 × interval, max(1.5 × interval, 0.9 × allowedLatenessMs)]
   */
  readonly outOfOrderDelayMs: readonly [number, number];
  /**
   * How long a late reading is held back, device time ms: past its window's close (window + allowed
   * lateness + two intervals at least), and inside the run where the run is long enough.
   * @default [120000, 300000], shortened to [¼, ½] of the run's span for short runs
   */
  readonly lateDelayMs: readonly [number, number];
  /**
   * How far a skewed clock runs ahead of true time, ms.
   * @default the fleet's `maxClockSkewFutureMs` plus the run's device-time span plus [1 h, 3 d]
   */
  readonly skewFutureMs: readonly [number, number];
  /**
   * How far a skewed clock lags true time, ms.
   * @default the fleet's `maxEventAgeMs` plus [1 d, 20 d]
   */
  readonly skewPastMs: readonly [number, number];
}

/** `spanMs`: the run's device-time span (readings per device × interval). */
export function defaultFaultTiming(intervalMs: number, spanMs: number, fleet: FleetConfig): FaultTiming {
  const low = 1.1 * intervalMs;
  const surelyLate = fleet.windowMs + fleet.allowedLatenessMs + 2 * intervalMs;
  return {
    outOfOrderDelayMs: [low, Math.max(1.5 * intervalMs, 0.9 * fleet.allowedLatenessMs)],
    lateDelayMs: [
      Math.min(120_000, Math.max(surelyLate, spanMs / 4)),
      Math.min(300_000, Math.max(surelyLate, spanMs / 2)),
    ],
    // An accelerated run sends readings up to its span after their device time, so a skew must outrun that
    // too; the extra hour covers a sender running behind schedule.
    skewFutureMs: [
      fleet.maxClockSkewFutureMs + spanMs + 3_600_000,
      fleet.maxClockSkewFutureMs + spanMs + 3 * 86_400_000,
    ],
    skewPastMs: [fleet.maxEventAgeMs + 86_400_000, fleet.maxEventAgeMs + 20 * 86_400_000],
  };
}

export interface ValueFaultInterval {
  readonly fault: ValueFault;
  readonly deviceId: string;
  readonly deviceIndex: number;
  readonly metric: GaugeMetric;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** Offset added (spike, level shift), reached at the end (drift), or 0 (stuck), in the metric's unit. */
  readonly magnitude: number;
}

export interface PlannedRecordFault {
  readonly fault: RecordFault;
  /** Hold-back in device time for out-of-order and late readings; clock offset for skewed ones. */
  readonly offsetMs?: number;
}

export interface FaultPlan {
  /** Per device index, sorted by `fromSeq`, never overlapping. */
  readonly valueFaults: ReadonlyMap<number, readonly ValueFaultInterval[]>;
  /** Keyed by `${deviceIndex}:${seq}`; at most one record fault per reading. */
  readonly recordFaults: ReadonlyMap<string, PlannedRecordFault>;
  /** How many of each type were placed (can be below the mix when a run is too short to hold them). */
  readonly counts: Readonly<Record<FaultType, number>>;
}

const VALUE_FAULT_LENGTH: Readonly<Record<ValueFault, readonly [number, number]>> = {
  spike: [1, 2],
  drift: [30, 120],
  stuck: [20, 80],
  'level-shift': [20, 80],
};

/** Size of a fault, per metric, as [min, max] of its absolute value; the sign is random except for batteries. */
const MAGNITUDE: Readonly<
  Record<Exclude<ValueFault, 'stuck'>, Readonly<Record<GaugeMetric, [number, number]>>>
> = {
  spike: { temperatureC: [10, 20], humidityPct: [25, 40], batteryV: [0.3, 0.6] },
  drift: { temperatureC: [4, 8], humidityPct: [10, 20], batteryV: [0.15, 0.3] },
  'level-shift': { temperatureC: [3, 6], humidityPct: [8, 15], batteryV: [0.1, 0.2] },
};

export const recordKey = (deviceIndex: number, seq: number): string => `${deviceIndex}:${seq}`;

const PLACEMENT_TRIES = 50;

/** Places every fault of `mix` on the fleet. Deterministic for a given `rng` state. */
export function planFaults(
  spec: FleetSpec,
  profiles: readonly DeviceProfile[],
  mix: FaultMix,
  timing: FaultTiming,
  rng: Rng,
): FaultPlan {
  const total = spec.devices * spec.readingsPerDevice;
  const wanted = (type: FaultType): number =>
    mix[type] > 0 ? Math.max(1, Math.round(mix[type] * total)) : 0;
  const counts = { ...none };
  const n = spec.readingsPerDevice;

  const valueFaults = new Map<number, ValueFaultInterval[]>();
  for (const fault of VALUE_FAULTS) {
    for (let i = 0; i < wanted(fault); i++) {
      for (let attempt = 0; attempt < PLACEMENT_TRIES; attempt++) {
        const device = profiles[rng.int(0, profiles.length - 1)] as DeviceProfile;
        const [minLength, maxLength] = VALUE_FAULT_LENGTH[fault];
        const length = Math.min(n, rng.int(minLength, maxLength));
        const fromSeq = rng.int(0, n - length);
        const toSeq = fromSeq + length - 1;
        const existing = valueFaults.get(device.index) ?? [];
        // One value fault per device at a time (with a clean reading between) keeps each label unambiguous.
        if (existing.some((f) => fromSeq <= f.toSeq + 1 && toSeq >= f.fromSeq - 1)) continue;
        const metric = rng.pick(GAUGE_METRICS);
        let magnitude = 0;
        if (fault !== 'stuck') {
          const [low, high] = MAGNITUDE[fault][metric];
          const size = rng.uniform(low, high);
          // Batteries sag rather than gain charge out of nowhere.
          magnitude = metric === 'batteryV' ? -size : rng.chance(0.5) ? size : -size;
        }
        existing.push({
          fault,
          deviceId: device.deviceId,
          deviceIndex: device.index,
          metric,
          fromSeq,
          toSeq,
          fromMs: readingTimeMs(spec, device, fromSeq),
          toMs: readingTimeMs(spec, device, toSeq),
          magnitude: round6(magnitude),
        });
        valueFaults.set(device.index, existing);
        counts[fault] += 1;
        break;
      }
    }
  }
  for (const list of valueFaults.values()) list.sort((a, b) => a.fromSeq - b.fromSeq);

  const recordFaults = new Map<string, PlannedRecordFault>();
  // A record fault never hits a device's first or last reading, so every gap and reordering is observable.
  if (n >= 3) {
    for (const fault of RECORD_FAULTS) {
      for (let i = 0; i < wanted(fault); i++) {
        for (let attempt = 0; attempt < PLACEMENT_TRIES; attempt++) {
          const device = profiles[rng.int(0, profiles.length - 1)] as DeviceProfile;
          const offsetMs = faultOffset(fault, timing, rng);
          const holdBackReadings =
            fault === 'out-of-order' || fault === 'late' ? Math.ceil(offsetMs / spec.intervalMs) : 0;
          const lastSeq = Math.max(1, n - 2 - holdBackReadings);
          const seq = rng.int(1, lastSeq);
          const key = recordKey(device.index, seq);
          if (recordFaults.has(key)) continue;
          recordFaults.set(key, offsetMs === 0 ? { fault } : { fault, offsetMs: Math.round(offsetMs) });
          counts[fault] += 1;
          break;
        }
      }
    }
  }
  return { valueFaults, recordFaults, counts };
}

function faultOffset(fault: RecordFault, timing: FaultTiming, rng: Rng): number {
  switch (fault) {
    case 'out-of-order':
      return rng.uniform(...timing.outOfOrderDelayMs);
    case 'late':
      return rng.uniform(...timing.lateDelayMs);
    case 'clock-skew-future':
      return rng.uniform(...timing.skewFutureMs);
    case 'clock-skew-past':
      return -rng.uniform(...timing.skewPastMs);
    default:
      return 0;
  }
}

const round6 = (value: number): number => Math.round(value * 1e6) / 1e6;

/**
 * A value fault's effect on one reading. `stuckAt` is the metric's value at the fault's first reading.
 * Results are clamped to the fleet's physical range so the faulty reading is still accepted.
 */
export function applyValueFault(
  interval: ValueFaultInterval,
  seq: number,
  clean: number,
  stuckAt: number,
  range: { readonly min: number; readonly max: number },
): number {
  let value: number;
  switch (interval.fault) {
    case 'spike':
    case 'level-shift':
      value = clean + interval.magnitude;
      break;
    case 'drift':
      value =
        clean + (interval.magnitude * (seq - interval.fromSeq + 1)) / (interval.toSeq - interval.fromSeq + 1);
      break;
    case 'stuck':
      value = stuckAt;
      break;
  }
  // Sensors report to a few decimals; so does a faulty one.
  return Math.round(Math.min(range.max, Math.max(range.min, value)) * 1000) / 1000;
}
