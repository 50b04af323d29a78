/**
 * Simulation settings, parsed and validated once (`parseSimulationConfig`). Each field documents its
 * default and unit.
 */
import { DEFAULT_FLEET_CONFIG, type FleetConfig } from '../consumers/config.ts';
import { ConfigError } from '../consumers/contract/errors.ts';
import { FAULT_PRESETS, type FaultMix } from './faults.ts';
import type { EnvelopeContext } from './payloads.ts';
import { DEFAULT_SENDER_SETTINGS, type SenderSettings } from './sender.ts';

export type FaultPreset = keyof typeof FAULT_PRESETS;
export const FAULT_PRESET_NAMES = Object.keys(FAULT_PRESETS) as FaultPreset[];

export interface SimulationConfig {
  /** Seed of every random choice: the same seed and settings give the same readings and faults. @default 1 */
  readonly seed: string | number;
  /** Devices in the fleet. @default 10 */
  readonly devices: number;
  /**
   * Events per second sent over all devices, wall clock. `Infinity` sends as fast as the endpoints accept
   * (device time then lies wholly in the past). @default 100
   */
  readonly rate: number;
  /** Wall-clock seconds of sending at `rate`; sets the readings per device. @default 30 */
  readonly durationSeconds: number;
  /**
   * Readings per device; overrides `rate × durationSeconds ÷ devices`. Required when `rate` is Infinity.
   * @default derived
   */
  readonly readingsPerDevice?: number;
  /**
   * `accelerated`: each device reads every `intervalMs` of device time and device time runs faster than the
   * wall clock (diurnal cycles and late events fit in a short run). `realtime`: device time is wall time,
   * each device reads every `devices ÷ rate` seconds. @default 'accelerated'
   */
  readonly clock: 'accelerated' | 'realtime';
  /** Device time between two readings of a device in accelerated mode, ms. @default 5000 */
  readonly intervalMs: number;
  /** Fault mix: a preset name or explicit per-type rates. @default 'default' */
  readonly faults: FaultPreset | FaultMix;
  /** Mean device time between reboots, hours. @default 24 */
  readonly meanHoursBetweenReboots: number;
  /**
   * Device time of the first reporting interval, epoch ms. Fix it for byte-identical runs.
   * @default chosen at start so that no reading's device time is ahead of the wall clock when it is sent
   */
  readonly startMs?: number;
  /** The fleet rules the expected rejections are built against. @default DEFAULT_FLEET_CONFIG */
  readonly fleet: FleetConfig;
  /** Account and region stamped on records written straight to Kinesis. @default 000000000000, us-east-1 */
  readonly envelope: EnvelopeContext;
  readonly sender: SenderSettings;
  /**
   * `eventbridge`: readings go through PutEvents and the bus's rule, as devices send them. `kinesis`: every
   * record is written straight to the stream in the envelope the rule would have produced (PutRecords takes
   * 500 records a call against PutEvents' 10), for benchmarks that measure the consumers, not the bus.
   * @default 'eventbridge'
   */
  readonly route: 'eventbridge' | 'kinesis';
  /** How often `onProgress` is called, ms. @default 1000 */
  readonly progressIntervalMs: number;
}

export type SimulationOverrides = Partial<Omit<SimulationConfig, 'sender' | 'envelope'>> & {
  readonly sender?: Partial<SenderSettings>;
  readonly envelope?: Partial<EnvelopeContext>;
};

export const DEFAULT_SIMULATION_CONFIG: SimulationConfig = {
  seed: 1,
  devices: 10,
  rate: 100,
  durationSeconds: 30,
  clock: 'accelerated',
  intervalMs: 5_000,
  faults: 'default',
  meanHoursBetweenReboots: 24,
  fleet: DEFAULT_FLEET_CONFIG,
  envelope: { account: '000000000000', region: 'us-east-1' },
  sender: DEFAULT_SENDER_SETTINGS,
  route: 'eventbridge',
  progressIntervalMs: 1_000,
};

/** Devices are numbered into `dev-NNNNNN` ids. */
const MAX_DEVICES = 1_000_000;

function positive(name: string, value: number, integer = false): void {
  if (!(Number.isFinite(value) && value > 0) || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
}

export function parseSimulationConfig(overrides: SimulationOverrides = {}): SimulationConfig {
  const config: SimulationConfig = {
    ...DEFAULT_SIMULATION_CONFIG,
    ...overrides,
    sender: { ...DEFAULT_SENDER_SETTINGS, ...overrides.sender },
    envelope: { ...DEFAULT_SIMULATION_CONFIG.envelope, ...overrides.envelope },
  };
  positive('devices', config.devices, true);
  if (config.devices > MAX_DEVICES) throw new ConfigError(`devices must be at most ${MAX_DEVICES}`);
  if (!(config.rate > 0))
    throw new ConfigError(`rate must be a positive number or Infinity, got ${config.rate}`);
  positive('durationSeconds', config.durationSeconds);
  positive('intervalMs', config.intervalMs);
  positive('meanHoursBetweenReboots', config.meanHoursBetweenReboots);
  positive('progressIntervalMs', config.progressIntervalMs);
  if (config.readingsPerDevice !== undefined) positive('readingsPerDevice', config.readingsPerDevice, true);
  if (config.rate === Infinity && config.readingsPerDevice === undefined) {
    throw new ConfigError('an unpaced run (rate Infinity) needs readingsPerDevice');
  }
  if (config.clock !== 'accelerated' && config.clock !== 'realtime') {
    throw new ConfigError(`clock must be 'accelerated' or 'realtime', got '${String(config.clock)}'`);
  }
  if (config.clock === 'realtime' && config.rate === Infinity) {
    throw new ConfigError('a realtime run needs a finite rate');
  }
  if (config.route !== 'eventbridge' && config.route !== 'kinesis') {
    throw new ConfigError(`route must be 'eventbridge' or 'kinesis', got '${String(config.route)}'`);
  }
  if (typeof config.faults === 'string' && !(config.faults in FAULT_PRESETS)) {
    throw new ConfigError(`faults must be one of ${FAULT_PRESET_NAMES.join(', ')}, got '${config.faults}'`);
  }
  positive('sender.lanes', config.sender.lanes, true);
  positive('sender.maxAttempts', config.sender.maxAttempts, true);
  positive('sender.maxQueuedBatchesPerLane', config.sender.maxQueuedBatchesPerLane, true);
  if (!(config.sender.maxBufferMs >= 0)) throw new ConfigError('sender.maxBufferMs must be ≥ 0');
  positive('sender.backoffBaseMs', config.sender.backoffBaseMs);
  positive('sender.backoffMaxMs', config.sender.backoffMaxMs);
  const timing = simulationTiming(config);
  // Readings older than the fleet's maximum event age are rejected as CLOCK_SKEW_PAST; half leaves room for
  // a slow send.
  if (timing.readingsPerDevice * timing.intervalMs > config.fleet.maxEventAgeMs / 2) {
    throw new ConfigError(
      `the run spans ${Math.round((timing.readingsPerDevice * timing.intervalMs) / 3_600_000)} h of device time, ` +
        `more than half the fleet's maximum event age (${config.fleet.maxEventAgeMs / 3_600_000} h): ` +
        'use a shorter interval, fewer readings or a higher rate per device',
    );
  }
  return Object.freeze(config);
}

export interface SimulationTiming {
  readonly readingsPerDevice: number;
  /** Device time between a device's readings, ms. */
  readonly intervalMs: number;
  /** Device-time ms per wall ms; undefined when unpaced. */
  readonly speedup: number | undefined;
}

export function simulationTiming(config: SimulationConfig): SimulationTiming {
  const readingsPerDevice =
    config.readingsPerDevice ??
    Math.max(1, Math.round((config.rate * config.durationSeconds) / config.devices));
  if (config.rate === Infinity)
    return { readingsPerDevice, intervalMs: config.intervalMs, speedup: undefined };
  const perDeviceHz = config.rate / config.devices;
  if (config.clock === 'realtime')
    return { readingsPerDevice, intervalMs: Math.max(1, Math.round(1_000 / perDeviceHz)), speedup: 1 };
  return {
    readingsPerDevice,
    intervalMs: config.intervalMs,
    speedup: (perDeviceHz * config.intervalMs) / 1_000,
  };
}

export function faultMixOf(config: SimulationConfig): FaultMix {
  return typeof config.faults === 'string' ? FAULT_PRESETS[config.faults] : config.faults;
}
