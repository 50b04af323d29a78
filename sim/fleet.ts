/**
 * The fleet: N devices, each reading its sensors every `intervalMs` of device time. Pure and seeded: the
 * same spec always yields the same readings, and a device's series does not depend on the fleet's size.
 */

import { Rng } from './random.ts';
import { createDeviceProfile, type DeviceProfile, DeviceSignals, type Reading } from './signals.ts';

export interface FleetSpec {
  readonly seed: string | number;
  readonly devices: number;
  /** Device time between two readings of one device, ms. */
  readonly intervalMs: number;
  /** Device time of the first reporting interval, epoch ms. */
  readonly startMs: number;
  readonly readingsPerDevice: number;
  /** Mean device time between reboots, hours. */
  readonly meanHoursBetweenReboots: number;
}

export function createFleet(spec: FleetSpec): DeviceProfile[] {
  return Array.from({ length: spec.devices }, (_, index) =>
    createDeviceProfile(
      index,
      new Rng(spec.seed, `profile:${index}`),
      spec.intervalMs,
      spec.meanHoursBetweenReboots,
    ),
  );
}

/** Device time of reading `seq` of `profile`. */
export function readingTimeMs(spec: FleetSpec, profile: DeviceProfile, seq: number): number {
  return spec.startMs + seq * spec.intervalMs + profile.phaseOffsetMs;
}

/** Every reading of the fleet in device-time order (ties broken by device index). */
export function* fleetReadings(
  spec: FleetSpec,
  profiles: readonly DeviceProfile[] = createFleet(spec),
): Generator<Reading> {
  // Phase offsets are below one interval, so ordering devices by offset orders each tick's readings by time.
  const devices = [...profiles]
    .sort((a, b) => a.phaseOffsetMs - b.phaseOffsetMs || a.index - b.index)
    .map((profile) => new DeviceSignals(profile, new Rng(spec.seed, `signals:${profile.index}`)));
  for (let seq = 0; seq < spec.readingsPerDevice; seq++) {
    for (const device of devices) yield device.next(readingTimeMs(spec, device.profile, seq));
  }
}
