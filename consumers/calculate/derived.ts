/** Derived values: pure functions of one reading (and the counter delta before it). */
import * as decimal from './decimal.ts';

// Bound once, as in counter.ts.
const { roundSignificant } = decimal;

/** The metric whose deltas are energy, from which average power is derived. */
export const ENERGY_METRIC = 'energyWh';
export const TEMPERATURE_METRIC = 'temperatureC';
export const HUMIDITY_METRIC = 'humidityPct';

// Magnus coefficients (Alduchov & Eskridge 1996) over water: within 0.35 °C for -45 °C..60 °C.
const MAGNUS_B = 17.625;
const MAGNUS_C = 243.04;

/** Dew point in °C from air temperature (°C) and relative humidity (%), by the Magnus formula. */
export function dewPointC(temperatureC: number, humidityPct: number): number | undefined {
  // ln(0) is -Infinity: a dry reading has no dew point worth reporting.
  if (!(humidityPct > 0) || humidityPct > 100) return undefined;
  const gamma = Math.log(humidityPct / 100) + (MAGNUS_B * temperatureC) / (MAGNUS_C + temperatureC);
  return (MAGNUS_C * gamma) / (MAGNUS_B - gamma);
}

/** Average power in W from an energy delta in Wh over elapsed device time in ms. */
export function averagePowerW(deltaWh: number, elapsedMs: number): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  return roundSignificant((deltaWh * 3_600_000) / elapsedMs);
}
