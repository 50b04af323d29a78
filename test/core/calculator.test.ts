import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dewPointC } from '../../consumers/calculate/derived.ts';
import { type FleetConfig, parseFleetConfig } from '../../consumers/config.ts';
import { SnapshotError } from '../../consumers/contract/errors.ts';
import { ALL_REJECT_REASONS, type RejectReason } from '../../consumers/contract/reasons.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import type { BatchOutcome } from '../../consumers/processor/types.ts';
import { envelope, parseLines, type ReadingSpec, rawRecord, record, T0 } from './fixtures.ts';

type Row = Record<string, unknown>;

function run(specs: ReadingSpec[], overrides: Partial<FleetConfig> = {}, flush = true) {
  const processor = createRecordProcessor({ config: parseFleetConfig(overrides) });
  const outcome = processor.process(specs.map(record));
  const rows = parseLines(outcome.results);
  if (flush) rows.push(...parseLines(processor.flush().results));
  return { outcome, rows, of: (kind: string) => rows.filter((r) => r.kind === kind) };
}

const second = (i: number) => T0 + i * 1000;
const energy = (seq: number, energyWh: number): ReadingSpec => ({
  seq,
  tsMs: second(seq),
  metrics: { energyWh },
});

describe('per-device calculation', () => {
  it('counts a duplicate (deviceId, seq) and does not re-emit it', () => {
    const { outcome, of } = run([
      { seq: 1, tsMs: second(1) },
      { seq: 2, tsMs: second(2) },
      { seq: 1, tsMs: second(1) },
    ]);
    assert.deepEqual(outcome.counts, { in: 3, accepted: 2, rejected: 0, duplicates: 1 });
    assert.deepEqual(
      of('reading').map((r) => r.seq),
      [1, 2],
    );
    assert.equal(outcome.archive.length, 2);
  });

  it('reports a seq gap as one missing record naming the range', () => {
    const { of } = run([
      { seq: 1, tsMs: second(1) },
      { seq: 5, tsMs: second(5) },
    ]);
    const [missing] = of('missing');
    assert.equal(of('missing').length, 1);
    assert.equal(missing?.id, 'dev-1:m:2-4');
    assert.equal(missing?.count, 3);
  });

  it('turns a cumulative counter into deltas and average power', () => {
    const { of } = run([energy(0, 1000), energy(10, 1002.5)]);
    const reading = of('reading')[1];
    assert.deepEqual(reading?.deltas, { energyWh: 2.5 });
    // 2.5 Wh over 10 s = 900 W
    assert.ok(Math.abs((reading?.powerW as number) - 900) < 1e-9);
  });

  it('treats a drop to near zero as a reboot: the delta counts from zero', () => {
    const { of } = run([energy(0, 5000), energy(1, 0.4)]);
    const reading = of('reading')[1];
    assert.deepEqual(reading?.deltas, { energyWh: 0.4 });
    assert.deepEqual(reading?.flags, ['COUNTER_RESET']);
  });

  it('spans a wrap for counters with wrapAt', () => {
    const metrics = [{ name: 'energyWh', kind: 'counter' as const, min: 0, max: 65_536, wrapAt: 65_536 }];
    const { of } = run([energy(0, 65_530), energy(1, 4)], { metrics });
    const reading = of('reading')[1];
    assert.deepEqual(reading?.deltas, { energyWh: 10 });
    assert.deepEqual(reading?.flags, ['COUNTER_WRAP']);
  });

  it('withholds a negative delta and keeps the last trusted value as anchor', () => {
    const { of } = run([energy(0, 5000), energy(1, 4990), energy(2, 5001)]);
    const [, glitch, next] = of('reading');
    assert.deepEqual(glitch?.deltas, {});
    assert.deepEqual(glitch?.flags, ['COUNTER_NEGATIVE']);
    assert.deepEqual(next?.deltas, { energyWh: 1 });
    assert.deepEqual(next?.flags, []);
  });

  it('withholds an implausibly fast increase', () => {
    // 100 kWh in one second is far above the default plausible maximum (100 kW).
    const { of } = run([energy(0, 5000), energy(1, 105_000)]);
    assert.deepEqual(of('reading')[1]?.flags, ['COUNTER_IMPLAUSIBLE']);
    assert.deepEqual(of('reading')[1]?.deltas, {});
  });

  it('derives the dew point by the Magnus formula', () => {
    // Reference: 20 °C at 50 % RH has a dew point of about 9.3 °C.
    assert.ok(Math.abs((dewPointC(20, 50) as number) - 9.26) < 0.05);
    assert.equal(dewPointC(20, 0), undefined);
    const { of } = run([{ seq: 1, tsMs: second(1), metrics: { temperatureC: 20, humidityPct: 50 } }]);
    assert.ok(Math.abs((of('reading')[0]?.dewPointC as number) - 9.26) < 0.05);
  });

  it('emits a tumbling window with statistics, completeness and a deterministic id', () => {
    const specs: ReadingSpec[] = [];
    for (let seq = 0; seq < 60; seq++) {
      if (seq === 30) continue;
      specs.push({
        seq,
        tsMs: second(seq),
        metrics: { temperatureC: seq % 2 === 0 ? 20 : 22, energyWh: 100 + seq },
      });
    }
    specs.push({ seq: 70, tsMs: second(75), metrics: { temperatureC: 21 } });
    const { of } = run(specs, {}, false);
    const [window] = of('window');
    assert.equal(of('window').length, 1, 'the second window is still open');
    assert.equal(window?.id, `dev-1:w:${T0}:v1`);
    assert.equal(window?.resultId, `dev-1:w:${T0}`);
    assert.equal(window?.received, 59);
    assert.equal(window?.expected, 60);
    assert.ok(Math.abs((window?.completeness as number) - 59 / 60) < 1e-12);
    const temperature = (window?.metrics as Record<string, Row> | undefined)?.temperatureC;
    assert.equal(temperature?.min, 20);
    assert.equal(temperature?.max, 22);
    assert.equal(temperature?.first, 20);
    assert.equal(temperature?.last, 22);
    const energyStats = (window?.metrics as Record<string, Row> | undefined)?.energyWh;
    assert.equal(energyStats?.sumDelta, 159 - 100);
  });

  it('folds an out-of-order event within the lateness into its window and asks to reconcile the gap', () => {
    const { of } = run([
      { seq: 1, tsMs: second(1) },
      { seq: 3, tsMs: second(3) },
      { seq: 2, tsMs: second(2) },
    ]);
    assert.equal(of('missing')[0]?.id, 'dev-1:m:2-2');
    const request = of('correction-request')[0];
    assert.equal(request?.reason, 'GAP_FILLED');
    assert.equal(of('window')[0]?.received, 3);
    assert.deepEqual(of('reading')[2]?.flags, ['OUT_OF_ORDER']);
  });

  it('raises a LATE_EVENT correction request for an event whose window was emitted', () => {
    const specs: ReadingSpec[] = [];
    for (let seq = 0; seq <= 80; seq++) if (seq !== 10) specs.push({ seq, tsMs: second(seq) });
    specs.push({ seq: 10, tsMs: second(10), arrivalMs: second(81) });
    const { of } = run(specs, {}, false);
    const late = of('correction-request').filter((r) => r.reason === 'LATE_EVENT');
    assert.equal(late.length, 1);
    assert.equal(late[0]?.targetId, `dev-1:w:${T0}`);
    assert.equal(late[0]?.id, `dev-1:w:${T0}:c:LATE_EVENT`);
    assert.ok((of('reading').at(-1)?.flags as string[] | undefined)?.includes('LATE'));
    assert.equal(of('window')[0]?.received, 59, 'the late event is not folded into the emitted window');
  });

  it('closes the window of a device gone silent once stream time passes the idle timeout', () => {
    const processor = createRecordProcessor();
    const first = processor.process([record({ seq: 1, tsMs: second(1) })]);
    assert.equal(parseLines(first.results).filter((r) => r.kind === 'window').length, 0);
    const other = processor.process([
      record({ deviceId: 'dev-2', seq: 1, tsMs: second(200), arrivalMs: second(200) }),
    ]);
    const windows = parseLines(other.results).filter((r) => r.kind === 'window');
    assert.deepEqual(
      windows.map((w) => w.deviceId),
      ['dev-1'],
    );
  });

  it('scores readings in the stream: an explained anomaly record, a counted window and one correction request', () => {
    const specs: ReadingSpec[] = [];
    for (let seq = 0; seq < 400; seq++) {
      const temperatureC = seq === 300 ? 55 : 21 + Math.sin(seq / 7) * 0.3;
      specs.push({ seq, tsMs: second(seq), metrics: { temperatureC } });
    }
    const { of, outcome } = run(specs);
    const anomalies = of('anomaly');
    assert.ok(anomalies.length >= 1, 'the spike is flagged');
    const spike = anomalies.find((a) => a.seq === 300);
    assert.ok(spike !== undefined, 'the flagged reading is the spike');
    assert.equal(spike.id, 'dev-1:a:300:temperatureC');
    assert.equal(spike.metric, 'temperatureC');
    assert.equal(spike.observed, 55);
    assert.ok((spike.expectedHigh as number) < 55 && (spike.detectors as string[]).length > 0);
    const spikeWindow = `dev-1:w:${T0 + 300_000}`;
    assert.equal(spike.resultId, spikeWindow);
    const window = of('window').find((w) => w.resultId === spikeWindow);
    assert.ok((window?.anomalous as number) >= 1);
    const requests = outcome.corrections.filter((c) => c.reason === 'ANOMALY' && c.targetId === spikeWindow);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.id, `${spikeWindow}:c:ANOMALY`);
    const reading = of('reading').find((r) => r.seq === 300);
    assert.ok((reading?.anomalyScore as number) >= 0.5);
    // No alarms on the quiet readings before the spike.
    assert.ok(anomalies.every((a) => (a.seq as number) >= 300));
  });

  it('can run without anomaly detection', () => {
    const processor = createRecordProcessor({ anomaly: false });
    const outcome = processor.process([record({ seq: 1, tsMs: T0 })]);
    assert.equal(parseLines(outcome.results)[0]?.anomalyScore, undefined);
  });

  it('rejects each reason code through the processor, with the original bytes', () => {
    // MALFORMED_ENVELOPE is the runtimes' (a broken Lambda or MultiLang envelope never reaches
    // `process`): test/runtime covers it.
    const examples: Record<
      Exclude<RejectReason, 'MALFORMED_ENVELOPE'>,
      () => ReturnType<typeof rawRecord>
    > = {
      RECORD_TOO_LARGE: () => rawRecord('x'.repeat(70_000)),
      EMPTY_RECORD: () => rawRecord(new Uint8Array(0)),
      INVALID_UTF8: () => rawRecord(Buffer.from([0xff, 0xfe])),
      INVALID_JSON: () => rawRecord('{'),
      NOT_TELEMETRY: () => rawRecord(JSON.stringify({ ...envelope({ seq: 1, tsMs: T0 }), source: 'other' })),
      SCHEMA_VIOLATION: () => rawRecord(JSON.stringify({ ...envelope({ seq: 1, tsMs: T0 }), detail: {} })),
      INVALID_TIMESTAMP: () =>
        rawRecord(
          JSON.stringify(envelope({ seq: 1, tsMs: T0 })).replace(
            /"ts":"[^"]+"/,
            '"ts":"2026-02-31T99:00:00Z"',
          ),
        ),
      NON_FINITE_METRIC: () =>
        rawRecord(
          JSON.stringify(envelope({ seq: 1, tsMs: T0, metrics: { batteryV: 3 } })).replace('3}', '1e999}'),
        ),
      METRIC_OUT_OF_RANGE: () => record({ seq: 1, tsMs: T0, metrics: { batteryV: 99 } }),
      CLOCK_SKEW_FUTURE: () => record({ seq: 1, tsMs: T0 + 3_600_000, arrivalMs: T0 }),
      CLOCK_SKEW_PAST: () => record({ seq: 1, tsMs: T0 - 30 * 86_400_000, arrivalMs: T0 }),
      SEQ_REGRESSION: () => record({ deviceId: 'dev-9', seq: 1, tsMs: second(500), arrivalMs: second(500) }),
      FIRMWARE_NOT_ALLOWED: () => record({ seq: 1, tsMs: T0, firmware: '0.0.1' }),
    };
    const processorReasons = ALL_REJECT_REASONS.filter(
      (reason): reason is keyof typeof examples => reason !== 'MALFORMED_ENVELOPE',
    );
    assert.deepEqual(Object.keys(examples).sort(), [...processorReasons].sort());
    for (const reason of processorReasons) {
      const processor = createRecordProcessor({
        config: parseFleetConfig(reason === 'FIRMWARE_NOT_ALLOWED' ? { firmwareAllowList: ['2.4.1'] } : {}),
      });
      if (reason === 'SEQ_REGRESSION')
        processor.process([record({ deviceId: 'dev-9', seq: 5, tsMs: second(400) })]);
      const input = examples[reason]();
      const outcome: BatchOutcome = processor.process([input]);
      assert.equal(outcome.rejections.length, 1, reason);
      const [rejection] = outcome.rejections;
      assert.equal(rejection?.reason, reason);
      assert.deepEqual(Buffer.from(rejection?.rawBase64 ?? '', 'base64'), Buffer.from(input.data));
      assert.equal(outcome.counts.rejected, 1);
      assert.ok(
        outcome.results.every((r) => r.kind !== 'reading') && outcome.archive.length === 0,
        `${reason}: a rejected record yields no reading and is not archived`,
      );
    }
  });

  it('refuses a snapshot taken under another configuration or corrupted', () => {
    const processor = createRecordProcessor();
    processor.process([record({ seq: 1, tsMs: T0 })]);
    const snapshot = processor.snapshot();
    const other = createRecordProcessor({ config: parseFleetConfig({ windowMs: 30_000 }) });
    assert.throws(() => other.restore([snapshot]), SnapshotError);
    assert.throws(
      () => createRecordProcessor().restore([snapshot.subarray(0, snapshot.length - 3)]),
      /truncated/,
    );
    assert.throws(() => createRecordProcessor().restore([Buffer.from('nonsense-bytes')]), SnapshotError);
  });

  it('after a split keeps only the devices the child owns', () => {
    const parent = createRecordProcessor();
    parent.process([
      record({ deviceId: 'a', seq: 1, tsMs: T0 }),
      record({ deviceId: 'b', seq: 1, tsMs: T0 }),
    ]);
    const child = createRecordProcessor();
    child.restore([parent.snapshot()], { ownsDevice: (id) => id === 'a' });
    assert.equal(child.deviceCount, 1);
    const windows = parseLines(child.flush().results).map((r) => r.deviceId);
    assert.deepEqual(windows, ['a']);
  });
});
