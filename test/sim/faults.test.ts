import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_FLEET_CONFIG } from '../../consumers/config.ts';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import type { RejectReason } from '../../consumers/contract/reasons.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { parseSimulationConfig, type SimulationOverrides, simulationTiming } from '../../sim/config.ts';
import { FAULT_TYPES, RECORD_FAULTS, VALUE_FAULTS } from '../../sim/faults.ts';
import { expectedAccounting } from '../../sim/ground-truth.ts';
import type { SimRecord } from '../../sim/inject.ts';
import { envelopeText, utf8 } from '../../sim/payloads.ts';
import { defaultStartMs, planSimulation, toEventLine } from '../../sim/simulate.ts';

const WALL = Date.parse('2026-11-23T12:00:00.000Z');

function simulate(overrides: SimulationOverrides = {}) {
  const config = parseSimulationConfig({
    devices: 10,
    rate: 100,
    durationSeconds: 30,
    seed: 7,
    ...overrides,
  });
  const timing = simulationTiming(config);
  const startMs = defaultStartMs(timing, WALL);
  const plan = planSimulation(config, startMs);
  const speedup = timing.speedup ?? 1;
  /** Wall time the paced sender would send a record at. */
  const arrivalOf = (record: SimRecord) => Math.round(WALL + (record.sendAtMs - startMs) / speedup);
  return { config, plan, records: [...plan.records()], arrivalOf };
}

/** The bytes Kinesis holds for a record: EventBridge wraps a PutEvents entry in its envelope. */
function streamBytes(record: SimRecord, arrivalMs: number): Uint8Array {
  if (record.stream !== undefined) return record.stream.data;
  const entry = record.bus;
  assert.ok(entry !== undefined);
  return utf8(
    envelopeText(entry.Detail, 'eb-id', new Date(arrivalMs), { account: '0', region: 'us-east-1' }),
  );
}

describe('fault injection', () => {
  it('labels every fault type under the default mix', () => {
    const { plan, records } = simulate();
    const labels = new Set(records.flatMap((r) => r.labels));
    for (const type of FAULT_TYPES) assert.ok(labels.has(type), `${type} is injected and labeled`);
    for (const type of FAULT_TYPES) assert.ok(plan.faults.counts[type] > 0, `${type} is planned`);
    const intervals = [...plan.faults.valueFaults.values()].flat();
    for (const type of VALUE_FAULTS) assert.ok(intervals.some((i) => i.fault === type));
    assert.equal(records.length, plan.totalRecords);
  });

  it('injects nothing under the none mix', () => {
    const { plan, records, config } = simulate({ faults: 'none' });
    assert.equal(plan.faults.valueFaults.size, 0);
    assert.equal(plan.faults.recordFaults.size, 0);
    assert.equal(records.length, config.devices * simulationTiming(config).readingsPerDevice);
    assert.ok(
      records.every((r) => r.labels.length === 0 && r.expect === 'accepted' && r.via === 'eventbridge'),
    );
  });

  it('is deterministic for a seed and start time', () => {
    const a = simulate().records;
    const b = simulate().records;
    assert.deepEqual(a, b);
    const c = simulate({ seed: 8 }).records;
    assert.notDeepEqual(
      a.map((r) => r.labels),
      c.map((r) => r.labels),
    );
  });

  for (const route of ['eventbridge', 'kinesis'] as const) {
    it(`predicts the real record processor's accounting exactly, reason by reason (route ${route})`, () => {
      const { records, arrivalOf } = simulate({ devices: 12, durationSeconds: 40, route });
      if (route === 'kinesis') assert.ok(records.every((r) => r.via !== 'eventbridge'));
      const processor = createRecordProcessor();
      const input: StreamRecord[] = [];
      const lines = records.map((record) => {
        const arrivalMs = arrivalOf(record);
        if (record.via !== 'none') {
          input.push({
            data: streamBytes(record, arrivalMs),
            partitionKey: record.deviceId,
            sequenceNumber: String(input.length),
            arrivalMs,
          });
        }
        return toEventLine(record, { delivered: record.via !== 'none', attempts: 1, sentAtMs: arrivalMs });
      });
      const expected = expectedAccounting(lines);

      const counts = { in: 0, accepted: 0, rejected: 0, duplicates: 0 };
      const reasons: Partial<Record<RejectReason, number>> = {};
      let missingReported = 0;
      for (const outcome of [processor.process(input), processor.flush()]) {
        for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] += outcome.counts[key];
        for (const rejection of outcome.rejections)
          reasons[rejection.reason] = (reasons[rejection.reason] ?? 0) + 1;
        for (const result of outcome.results) {
          if (result.kind === 'missing')
            missingReported += (JSON.parse(result.line) as { count: number }).count;
        }
      }
      assert.equal(counts.in, expected.sent);
      assert.equal(counts.accepted, expected.accepted);
      assert.equal(counts.duplicates, expected.duplicates);
      assert.equal(counts.rejected, expected.rejected);
      assert.deepEqual(reasons, expected.rejectedByReason);
      assert.equal(missingReported, expected.missing + expected.gapsFilled);
      assert.ok(expected.missing > 0 && expected.gapsFilled > 0 && expected.duplicates > 0);
      assert.equal(expected.sent, expected.accepted + expected.rejected + expected.duplicates);
    });
  }

  it('holds back out-of-order readings past a later one but within the allowed lateness, late ones for minutes', () => {
    const { records } = simulate();
    const sendIndex = new Map(records.map((r, i) => [`${r.deviceId}:${r.seq}:${r.copy}`, i]));
    for (const [i, record] of records.entries()) {
      if (record.labels.includes('out-of-order') || record.labels.includes('late')) {
        const next = sendIndex.get(`${record.deviceId}:${record.seq + 1}:0`);
        assert.ok(next !== undefined && next < i, `${record.deviceId}:${record.seq} goes after seq + 1`);
        const delay = record.delayMs ?? 0;
        if (record.labels.includes('late')) assert.ok(delay >= 120_000 && delay <= 300_000);
        else assert.ok(delay < DEFAULT_FLEET_CONFIG.allowedLatenessMs);
      }
      if (record.labels.includes('duplicated') && record.copy === 1) {
        const original = sendIndex.get(`${record.deviceId}:${record.seq}:0`);
        const next = sendIndex.get(`${record.deviceId}:${record.seq + 1}:0`);
        assert.ok(original !== undefined && original < i && (next === undefined || i < next));
      }
    }
  });

  it('ties device time to the wall clock in realtime mode and keeps late readings inside a short run', () => {
    const { plan, records, arrivalOf } = simulate({
      clock: 'realtime',
      devices: 5,
      rate: 10,
      durationSeconds: 120,
    });
    assert.equal(plan.timing.speedup, 1);
    assert.equal(plan.timing.intervalMs, 500);
    const lastReading = Math.max(...records.map((r) => r.tsMs));
    for (const record of records) {
      // Sent when its device time comes round on the wall clock (plus its hold-back, if any).
      assert.equal(arrivalOf(record), Math.round(WALL + record.sendAtMs - plan.spec.startMs));
      if (record.labels.includes('late')) {
        const delay = record.delayMs ?? 0;
        const surelyLate = DEFAULT_FLEET_CONFIG.windowMs + DEFAULT_FLEET_CONFIG.allowedLatenessMs;
        assert.ok(delay > surelyLate && record.sendAtMs <= lastReading, `late by ${delay} ms`);
      }
    }
  });

  it('changes values as labeled: spikes and shifts by their magnitude, stuck readings hold one value', () => {
    const { plan, records } = simulate({ devices: 5, durationSeconds: 120 });
    const bySeq = new Map(records.filter((r) => r.copy === 0).map((r) => [`${r.deviceId}:${r.seq}`, r]));
    let checked = 0;
    for (const interval of [...plan.faults.valueFaults.values()].flat()) {
      const stuck = new Set<number>();
      for (let seq = interval.fromSeq; seq <= interval.toSeq; seq++) {
        const record = bySeq.get(`${interval.deviceId}:${seq}`);
        if (record?.bus === undefined) continue;
        assert.ok(record.labels.includes(interval.fault));
        const value = (JSON.parse(record.bus.Detail) as { metrics: Record<string, number> }).metrics[
          interval.metric
        ];
        const clean = record.clean?.[interval.metric];
        assert.ok(typeof value === 'number' && typeof clean === 'number');
        if (interval.fault === 'stuck') stuck.add(value);
        const range = DEFAULT_FLEET_CONFIG.metrics.find((m) => m.name === interval.metric);
        const unclamped = range !== undefined && clean + interval.magnitude > range.min + 1e-9;
        if (
          (interval.fault === 'spike' || interval.fault === 'level-shift') &&
          unclamped &&
          interval.metric !== 'humidityPct'
        ) {
          assert.ok(
            Math.abs(value - clean - interval.magnitude) < 0.002,
            `${interval.fault} ${value} vs ${clean}`,
          );
        }
        checked++;
      }
      if (interval.fault === 'stuck') assert.equal(stuck.size, 1);
    }
    assert.ok(checked > 0);
  });

  it('property: the expected accounting always balances and matches the plan', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 3, max: 60 }),
        (seed, devices, readingsPerDevice) => {
          const { plan, records } = simulate({ seed, devices, readingsPerDevice });
          const lines = records.map((r) => toEventLine(r, { delivered: r.via !== 'none', attempts: 1 }));
          const expected = expectedAccounting(lines);
          assert.equal(expected.sent, expected.accepted + expected.rejected + expected.duplicates);
          assert.equal(records.length, expected.sent + expected.dropped);
          assert.equal(expected.dropped, plan.faults.counts.dropped);
          assert.equal(expected.duplicates, plan.faults.counts.duplicated);
          const rejecting = RECORD_FAULTS.filter(
            (f) => f.startsWith('malformed-') || f.startsWith('clock-skew-'),
          );
          assert.equal(
            expected.rejected,
            rejecting.reduce((sum, f) => sum + plan.faults.counts[f], 0),
          );
          assert.equal(
            expected.accepted + expected.missing,
            devices * readingsPerDevice - lostAtTheEdges(records),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Readings before a device's first or after its last accepted one: the pipeline cannot see those gaps. */
function lostAtTheEdges(records: readonly SimRecord[]): number {
  const accepted = new Map<string, number[]>();
  const all = new Map<string, number>();
  for (const r of records) {
    if (r.copy === 0) all.set(r.deviceId, (all.get(r.deviceId) ?? 0) + 1);
    if (r.expect === 'accepted') accepted.set(r.deviceId, [...(accepted.get(r.deviceId) ?? []), r.seq]);
  }
  let lost = 0;
  for (const [deviceId, count] of all) {
    const seqs = accepted.get(deviceId);
    if (seqs === undefined) lost += count;
    else lost += Math.min(...seqs) + (count - 1 - Math.max(...seqs));
  }
  return lost;
}
