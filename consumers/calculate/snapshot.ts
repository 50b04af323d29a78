/**
 * Versioned binary snapshots of the calculation state. The header pins what the state means (window
 * size, lateness, metric order, detector layout): restoring under a different configuration would
 * silently corrupt windows, so it is refused with a SnapshotError instead.
 */
import { SnapshotError } from '../contract/errors.ts';
import { BinaryReader, BinaryWriter } from './binary.ts';
import type { DeviceCalculator } from './calculator.ts';

const MAGIC = 0x31435346; // "FSC1" little-endian
const FORMAT_VERSION = 1;

function describe(calculator: DeviceCalculator): string {
  const { config, scorer } = calculator;
  return JSON.stringify([
    config.windowMs,
    config.allowedLatenessMs,
    config.metrics.map((m) => [m.name, m.kind]),
    scorer === undefined ? 'no-anomaly' : `anomaly-${scorer.stateWords}`,
  ]);
}

export function snapshotCalculator(calculator: DeviceCalculator): Uint8Array {
  const out = new BinaryWriter(64 + calculator.deviceCount * 160);
  out.u32(MAGIC);
  out.u32(FORMAT_VERSION);
  out.string(describe(calculator));
  calculator.writeState(out);
  return out.finish();
}

/** Fills a new, empty calculator from zero or more snapshots (several: the parent shards of a child). */
export function restoreCalculator(
  calculator: DeviceCalculator,
  snapshots: readonly Uint8Array[],
  ownsDevice?: (deviceId: string) => boolean,
): DeviceCalculator {
  const expected = describe(calculator);
  for (const snapshot of snapshots) {
    const input = new BinaryReader(snapshot);
    if (input.u32() !== MAGIC) throw new SnapshotError('not a fleetstream calculation snapshot');
    const version = input.u32();
    if (version !== FORMAT_VERSION) throw new SnapshotError(`snapshot format ${version} is not supported`);
    const meaning = input.string();
    if (meaning !== expected) {
      throw new SnapshotError(`snapshot was taken with another configuration (${meaning}, now ${expected})`);
    }
    calculator.readState(input, ownsDevice);
    if (!input.done) throw new SnapshotError('snapshot has trailing bytes');
  }
  return calculator;
}
