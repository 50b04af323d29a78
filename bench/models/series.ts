/** Loads a NAB series (`timestamp,value` CSV) from ../shared/nab, or generates a diurnal signal when absent. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../models/rcf/random.ts';

export const NAB_ROOT = join(process.cwd(), '..', 'shared', 'nab');

export interface Series {
  readonly name: string;
  readonly values: Float64Array;
}

export function loadNabValues(relativePath: string): Float64Array | undefined {
  const path = join(NAB_ROOT, 'data', relativePath);
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).slice(1);
  const values: number[] = [];
  for (const line of lines) {
    const comma = line.indexOf(',');
    if (comma < 0) continue;
    const v = Number(line.slice(comma + 1));
    if (Number.isFinite(v)) values.push(v);
  }
  return Float64Array.from(values);
}

/** A day-periodic temperature-like signal with noise, 5-minute samples. */
export function diurnalSeries(length: number, seed = 1): Float64Array {
  const rng = SeededRandom.fromSeed(seed);
  const perDay = 288;
  return Float64Array.from(
    { length },
    (_, i) => 20 + 5 * Math.sin((2 * Math.PI * i) / perDay) + (rng.next() - 0.5),
  );
}

export function benchSeries(): Series {
  const nab = 'realKnownCause/machine_temperature_system_failure.csv';
  const values = loadNabValues(nab);
  return values !== undefined && values.length > 1000
    ? { name: `nab:${nab}`, values }
    : { name: 'generated:diurnal', values: diurnalSeries(22_000) };
}
