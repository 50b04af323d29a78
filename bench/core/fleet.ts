/**
 * A generated fleet for the core benchmark: EventBridge envelopes as they land in Kinesis (~350 bytes),
 * devices reporting once per second in round-robin, diurnal-ish gauges and a growing energy counter.
 */
import { randomUUID } from 'node:crypto';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';

export const FLEET_START_MS = Date.parse('2026-11-23T00:00:00.000Z');

export function deviceId(n: number): string {
  return `dev-${n.toString().padStart(7, '0')}`;
}

/** Deterministic pseudo-random in [0, 1) from two integers (no shared PRNG state to keep in sync). */
function noise(a: number, b: number): number {
  let h = (a * 374761393 + b * 668265263) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export function telemetryEnvelope(device: number, seq: number): string {
  const tsMs = FLEET_START_MS + seq * 1000 + (device % 1000);
  const hour = ((tsMs / 3_600_000) % 24) / 24;
  const diurnal = Math.sin(2 * Math.PI * hour);
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': 'Telemetry',
    source: 'iot.fleet',
    account: '123456789012',
    time: new Date(tsMs + 150).toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail: {
      deviceId: deviceId(device),
      seq,
      ts: new Date(tsMs).toISOString(),
      firmware: '2.4.1',
      metrics: {
        temperatureC: Math.round((18 + 6 * diurnal + noise(device, seq) * 0.8) * 100) / 100,
        humidityPct: Math.round((55 - 15 * diurnal + noise(seq, device) * 3) * 100) / 100,
        batteryV: Math.round((3.9 - (seq % 3600) / 36000) * 1000) / 1000,
        energyWh: Math.round((device % 500) * 100 + seq * (0.2 + noise(device, 7) * 0.3) * 100) / 100,
      },
    },
  });
}

/** `events` records over `devices` devices, each device's seqs in order, devices interleaved. */
export function generateRecords(devices: number, events: number): StreamRecord[] {
  const records: StreamRecord[] = new Array(events);
  for (let i = 0; i < events; i++) {
    const device = i % devices;
    const seq = Math.floor(i / devices);
    const data = Buffer.from(telemetryEnvelope(device, seq));
    records[i] = {
      data,
      partitionKey: deviceId(device),
      sequenceNumber: String(i),
      arrivalMs: FLEET_START_MS + seq * 1000 + (device % 1000) + 200,
    };
  }
  return records;
}
