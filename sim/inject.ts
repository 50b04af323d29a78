/**
 * Turns the fleet's clean readings into the records actually sent, applying the fault plan, and puts them
 * in send order (held-back readings move behind later ones). Pure: no clock, no I/O.
 */
import type { FleetConfig } from '../consumers/config.ts';
import type { RejectReason } from '../consumers/contract/reasons.ts';
import {
  applyValueFault,
  EXPECTED_REJECTION,
  type FaultPlan,
  type FaultType,
  type GaugeMetric,
  recordKey,
  type ValueFaultInterval,
} from './faults.ts';
import { MinHeap } from './heap.ts';
import {
  type BusEntry,
  busEntry,
  type EnvelopeContext,
  envelopeText,
  type StreamEntry,
  utf8,
  uuidFromHex,
  withInvalidUtf8,
} from './payloads.ts';
import type { Rng } from './random.ts';
import type { Reading } from './signals.ts';

/** How a record travels: PutEvents, a direct PutRecords, or not at all (a dropped reading). */
export type Via = 'eventbridge' | 'kinesis' | 'none';

/** What the pipeline must do with the record if it is delivered. */
export type Expectation = 'accepted' | 'duplicate' | 'rejected' | 'not-sent';

export interface SimRecord {
  readonly deviceId: string;
  readonly deviceIndex: number;
  readonly seq: number;
  /** The reading's true device time, epoch ms. */
  readonly tsMs: number;
  /** Device time at which the record is sent: `tsMs` unless held back or a repeat. */
  readonly sendAtMs: number;
  /** `ts` as written on the wire when it differs from the true one; null when the field was left out. */
  readonly wireTs?: string | null;
  readonly firmware: string;
  readonly via: Via;
  readonly bus?: BusEntry;
  readonly stream?: StreamEntry;
  readonly labels: readonly FaultType[];
  /** 0 for an original, 1 for the repeat of a duplicated reading. */
  readonly copy: number;
  readonly expect: Expectation;
  readonly reason?: RejectReason;
  /** Hold-back of an out-of-order or late reading, or the repeat's lag, device time ms. */
  readonly delayMs?: number;
  /** The device rebooted just before this reading (its energy counter restarted near zero). */
  readonly reboot?: boolean;
  /** The clean value of each metric a value fault changed. */
  readonly clean?: Readonly<Record<string, number>>;
  /** Creation order; breaks send-time ties so the order is fully deterministic. */
  readonly order: number;
}

export interface InjectContext {
  readonly plan: FaultPlan;
  /** Where records EventBridge can carry go: through the bus, or straight onto the stream. */
  readonly route: 'eventbridge' | 'kinesis';
  readonly fleet: FleetConfig;
  readonly intervalMs: number;
  readonly envelope: EnvelopeContext;
  readonly rng: Rng;
}

const iso = (ms: number): string => new Date(ms).toISOString();

interface DeviceFaultCursor {
  next: number;
  stuckAt: number;
}

type Detail = {
  deviceId: string;
  seq: number;
  ts?: string;
  firmware: string;
  metrics: Record<string, number | string>;
};

export function* injectFaults(readings: Iterable<Reading>, context: InjectContext): Generator<SimRecord> {
  const { plan, fleet, rng, intervalMs } = context;
  const ranges = new Map(fleet.metrics.map((m) => [m.name, { min: m.min, max: m.max }]));
  const cursors = new Map<number, DeviceFaultCursor>();
  const queue = new MinHeap<SimRecord>(
    (a, b) => a.sendAtMs < b.sendAtMs || (a.sendAtMs === b.sendAtMs && a.order < b.order),
  );
  let order = 0;
  const send = (record: Omit<SimRecord, 'order'>): void => queue.push({ ...record, order: order++ });
  const viaBus = (detail: Detail, tsMs: number): Pick<SimRecord, 'via' | 'bus' | 'stream'> => {
    if (context.route === 'eventbridge') return { via: 'eventbridge', bus: busEntry(detail) };
    // What the rule would write: the envelope around the detail, keyed by device.
    const text = envelopeText(
      JSON.stringify(detail),
      uuidFromHex(rng.hex(16)),
      new Date(tsMs),
      context.envelope,
    );
    return { via: 'kinesis', stream: { data: utf8(text), partitionKey: detail.deviceId } };
  };

  const activeValueFault = (reading: Reading): ValueFaultInterval | undefined => {
    const list = plan.valueFaults.get(reading.deviceIndex);
    if (list === undefined) return undefined;
    let cursor = cursors.get(reading.deviceIndex);
    if (cursor === undefined) {
      cursor = { next: 0, stuckAt: 0 };
      cursors.set(reading.deviceIndex, cursor);
    }
    while (cursor.next < list.length && (list[cursor.next] as ValueFaultInterval).toSeq < reading.seq)
      cursor.next++;
    const interval = list[cursor.next];
    return interval !== undefined && interval.fromSeq <= reading.seq ? interval : undefined;
  };

  for (const reading of readings) {
    // Readings arrive in device-time order and nothing is sent before its reading, so anything due by now
    // can go out.
    while (queue.size > 0 && (queue.peek() as SimRecord).sendAtMs <= reading.tsMs)
      yield queue.pop() as SimRecord;

    const metrics: Record<string, number | string> = { ...reading.metrics };
    const labels: FaultType[] = [];
    let clean: Record<string, number> | undefined;
    const valueFault = activeValueFault(reading);
    if (valueFault !== undefined) {
      const metric: GaugeMetric = valueFault.metric;
      const value = reading.metrics[metric];
      const cursor = cursors.get(reading.deviceIndex) as DeviceFaultCursor;
      if (reading.seq === valueFault.fromSeq) cursor.stuckAt = value;
      const range = ranges.get(metric) ?? { min: -Infinity, max: Infinity };
      metrics[metric] = applyValueFault(valueFault, reading.seq, value, cursor.stuckAt, range);
      clean = { [metric]: value };
      labels.push(valueFault.fault);
    }

    const detail: Detail = {
      deviceId: reading.deviceId,
      seq: reading.seq,
      ts: iso(reading.tsMs),
      firmware: reading.firmware,
      metrics,
    };
    const base = {
      deviceId: reading.deviceId,
      deviceIndex: reading.deviceIndex,
      seq: reading.seq,
      tsMs: reading.tsMs,
      sendAtMs: reading.tsMs,
      firmware: reading.firmware,
      copy: 0,
      ...(reading.rebooted ? { reboot: true } : {}),
      ...(clean === undefined ? {} : { clean }),
    };
    const planned = plan.recordFaults.get(recordKey(reading.deviceIndex, reading.seq));
    if (planned === undefined) {
      queue.push({ ...base, ...viaBus(detail, reading.tsMs), labels, expect: 'accepted', order: order++ });
      continue;
    }
    const viaStream = (data: Uint8Array) => ({
      via: 'kinesis' as const,
      stream: { data, partitionKey: reading.deviceId } satisfies StreamEntry,
    });
    const fault = planned.fault;
    const faultLabels = [...labels, fault];
    const offsetMs = planned.offsetMs ?? 0;
    const rejected = { expect: 'rejected' as const, reason: EXPECTED_REJECTION[fault] as RejectReason };
    const envelope = (detailText: string) =>
      envelopeText(detailText, uuidFromHex(rng.hex(16)), new Date(reading.tsMs), context.envelope);

    switch (fault) {
      case 'dropped':
        send({ ...base, via: 'none', labels: faultLabels, expect: 'not-sent' });
        break;
      case 'duplicated': {
        send({ ...base, ...viaBus(detail, reading.tsMs), labels: faultLabels, expect: 'accepted' });
        // A producer retry after a lost acknowledgement: the repeat follows before the next reading.
        const lag = Math.round(rng.uniform(0.2, 0.8) * intervalMs);
        send({
          ...base,
          ...viaBus(detail, reading.tsMs),
          sendAtMs: reading.tsMs + lag,
          delayMs: lag,
          copy: 1,
          labels: faultLabels,
          expect: 'duplicate',
        });
        break;
      }
      case 'out-of-order':
      case 'late':
        send({
          ...base,
          ...viaBus(detail, reading.tsMs),
          sendAtMs: reading.tsMs + offsetMs,
          delayMs: offsetMs,
          labels: faultLabels,
          expect: 'accepted',
        });
        break;
      case 'clock-skew-future':
      case 'clock-skew-past': {
        const ts = iso(reading.tsMs + offsetMs);
        send({
          ...base,
          ...viaBus({ ...detail, ts }, reading.tsMs),
          wireTs: ts,
          labels: faultLabels,
          ...rejected,
        });
        break;
      }
      case 'malformed-invalid-json': {
        const text = envelope(JSON.stringify(detail));
        // Any proper prefix of a JSON object is invalid JSON: a record cut short in transit.
        const cut = rng.int(Math.floor(text.length / 3), text.length - 2);
        send({ ...base, ...viaStream(utf8(text.slice(0, cut))), labels: faultLabels, ...rejected });
        break;
      }
      case 'malformed-non-utf8': {
        const text = envelope(JSON.stringify(detail));
        // The envelope is ASCII, so the character index is the byte index.
        const at = text.indexOf('"firmware":"') + '"firmware":"'.length;
        send({ ...base, ...viaStream(withInvalidUtf8(utf8(text), at)), labels: faultLabels, ...rejected });
        break;
      }
      case 'malformed-wrong-type': {
        const wrong = { ...detail, metrics: { ...metrics, temperatureC: String(metrics.temperatureC) } };
        send({ ...base, ...viaBus(wrong, reading.tsMs), labels: faultLabels, ...rejected });
        break;
      }
      case 'malformed-missing-field': {
        const { ts: _dropped, ...withoutTs } = detail;
        send({ ...base, ...viaBus(withoutTs, reading.tsMs), wireTs: null, labels: faultLabels, ...rejected });
        break;
      }
      case 'malformed-non-finite': {
        const marker = '"__non_finite__"';
        const text = JSON.stringify({ ...detail, metrics: { ...metrics, humidityPct: '__non_finite__' } });
        // JSON's grammar allows 1e999; every IEEE-754 parser reads it as Infinity.
        send({
          ...base,
          ...viaStream(utf8(envelope(text.replace(marker, '1e999')))),
          labels: faultLabels,
          ...rejected,
        });
        break;
      }
      case 'malformed-out-of-range': {
        const max = ranges.get('temperatureC')?.max ?? 100;
        const value = Math.round((max + rng.uniform(20, 400)) * 100) / 100;
        send({
          ...base,
          ...viaBus({ ...detail, metrics: { ...metrics, temperatureC: value } }, reading.tsMs),
          labels: faultLabels,
          ...rejected,
        });
        break;
      }
      case 'malformed-invalid-timestamp': {
        // Month 13 matches the contract's ts pattern but is no real instant.
        const ts = `${iso(reading.tsMs).slice(0, 5)}13${iso(reading.tsMs).slice(7)}`;
        send({
          ...base,
          ...viaBus({ ...detail, ts }, reading.tsMs),
          wireTs: ts,
          labels: faultLabels,
          ...rejected,
        });
        break;
      }
    }
  }
  while (queue.size > 0) yield queue.pop() as SimRecord;
}
