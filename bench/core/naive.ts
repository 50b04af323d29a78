/**
 * The calculation stage as a typical first version is written: keep the last 600 values (ten minutes at
 * 1 Hz) per device metric and recompute statistics with simple-statistics on every event.
 */
import { max, mean, min, standardDeviation } from 'simple-statistics';
import type { TelemetryDetail } from '../../consumers/contract/telemetry.ts';

const HISTORY = 600;
const METRICS = ['temperatureC', 'humidityPct', 'batteryV', 'energyWh'] as const;

export interface NaiveStats {
  deviceId: string;
  seq: number;
  metrics: Record<string, { mean: number; stddev: number; min: number; max: number }>;
  energyDelta?: number;
}

export class NaiveCalculator {
  private readonly history = new Map<string, Record<string, number[]>>();

  apply(detail: TelemetryDetail): NaiveStats {
    let series = this.history.get(detail.deviceId);
    if (series === undefined) {
      series = {};
      this.history.set(detail.deviceId, series);
    }
    const out: NaiveStats = { deviceId: detail.deviceId, seq: detail.seq, metrics: {} };
    for (const name of METRICS) {
      const value = detail.metrics[name];
      if (value === undefined) continue;
      let values = series[name];
      if (values === undefined) {
        values = [];
        series[name] = values;
      }
      if (name === 'energyWh' && values.length > 0)
        out.energyDelta = value - (values[values.length - 1] as number);
      values.push(value);
      if (values.length > HISTORY) values.shift();
      out.metrics[name] = {
        mean: mean(values),
        stddev: standardDeviation(values),
        min: min(values),
        max: max(values),
      };
    }
    return out;
  }
}
