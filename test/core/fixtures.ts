/** Builders for telemetry records in tests. */
import { withoutPartitionFields } from '../../consumers/contract/layout.ts';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';

export const T0 = Date.parse('2026-11-23T12:00:00.000Z');

export interface ReadingSpec {
  deviceId?: string;
  seq: number;
  /** Device time, epoch ms. */
  tsMs: number;
  /** Arrival time, epoch ms. @default tsMs + 100 */
  arrivalMs?: number;
  firmware?: string;
  metrics?: Record<string, number>;
}

export function envelope(spec: ReadingSpec): Record<string, unknown> {
  return {
    version: '0',
    id: `evt-${spec.deviceId ?? 'dev-1'}-${spec.seq}`,
    'detail-type': 'Telemetry',
    source: 'iot.fleet',
    account: '123456789012',
    time: new Date(spec.arrivalMs ?? spec.tsMs + 100).toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail: {
      deviceId: spec.deviceId ?? 'dev-1',
      seq: spec.seq,
      ts: new Date(spec.tsMs).toISOString(),
      ...(spec.firmware === undefined ? {} : { firmware: spec.firmware }),
      metrics: spec.metrics ?? {
        temperatureC: 21,
        humidityPct: 50,
        batteryV: 3.7,
        energyWh: 1000 + spec.seq,
      },
    },
  };
}

let position = 0;

export function rawRecord(data: string | Uint8Array, arrivalMs = T0, partitionKey = 'dev-1'): StreamRecord {
  position++;
  return {
    data: typeof data === 'string' ? Buffer.from(data) : data,
    partitionKey,
    sequenceNumber: String(position).padStart(20, '0'),
    arrivalMs,
    shardId: 'shardId-000000000000',
  };
}

export function record(spec: ReadingSpec): StreamRecord {
  return rawRecord(
    JSON.stringify(envelope(spec)),
    spec.arrivalMs ?? spec.tsMs + 100,
    spec.deviceId ?? 'dev-1',
  );
}

/** Parses the result lines of a batch into objects (without the partition fields). */
export function parseLines(lines: readonly { line: string }[]): Record<string, unknown>[] {
  return lines.map((l) => {
    return withoutPartitionFields(JSON.parse(l.line) as Record<string, unknown>);
  });
}
