import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mean } from 'simple-statistics';
import { decimalDifference, decimalPlaces, roundSignificant } from '../../consumers/calculate/decimal.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { parseLines, record, T0 } from './fixtures.ts';

describe('results without floating-point noise', () => {
  it('a counter step between short decimals is the decimal step, exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(10 ** 14), max: 10 ** 14 }),
        fc.integer({ min: -(10 ** 14), max: 10 ** 14 }),
        fc.integer({ min: 0, max: 6 }),
        (a, b, decimals) => {
          const scale = 10 ** decimals;
          // (a − b) / 10^k is computed exactly as an integer, then rounded once: the double of the decimal.
          assert.equal(decimalDifference(a / scale, b / scale), (a - b) / scale);
        },
      ),
      { numRuns: 2000 },
    );
    assert.equal(15251.2 - 15250.9 === 0.3, false, 'plain subtraction is noisy here');
    assert.equal(decimalDifference(15251.2, 15250.9), 0.3);
    // A rollover at 99999.9: from 99999.5 to 0.4 is 0.8.
    assert.equal(decimalDifference(0.4, 99999.5, 99999.9), 0.8);
  });

  it('an operand with more than 15 significant digits is the exact double, and so is the step', () => {
    assert.deepEqual([15251.2, 0.000123, 42, 0, 1e14, 1e21].map(decimalPlaces), [1, 6, 0, 0, 0, -1]);
    assert.equal(decimalPlaces(999999.7499567918), -1);
    assert.equal(decimalPlaces(Number.NaN), -1);
    fc.assert(
      fc.property(
        fc.double({ min: -1e12, max: 1e12, noNaN: true }),
        fc.double({ min: -1e12, max: 1e12, noNaN: true }),
        (a, b) => {
          const step = decimalDifference(a, b);
          if (decimalPlaces(a) < 0 || decimalPlaces(b) < 0) assert.equal(step, a - b);
          // Either way the step is the double difference to within the operands' 15th digit.
          assert.ok(Math.abs(step - (a - b)) <= Math.max(Math.abs(a), Math.abs(b)) * 1e-14);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rounds derived values to 15 significant digits and no further', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const rounded = roundSignificant(x);
        assert.ok(Math.abs(rounded - x) <= Math.abs(x) * 1e-14, `${x} → ${rounded}`);
        assert.equal(roundSignificant(rounded), rounded, 'idempotent');
      }),
      { numRuns: 2000 },
    );
    assert.equal(roundSignificant(mean([21.5, 21.6])), 21.55);
    assert.equal(roundSignificant(0.1 + 0.2), 0.3);
    assert.equal(roundSignificant(-0), -0);
    assert.equal(roundSignificant(5e-324), 5e-324);
    // Above 1e22 the exponent once stopped at 22, so these kept 16 digits and a second rounding moved them.
    assert.equal(roundSignificant(-3.3456169924454764e23), -3.34561699244548e23);
    assert.equal(roundSignificant(3.8968645470213006e23), 3.8968645470213e23);
    assert.equal(roundSignificant(-1.2345678901234567e36), -1.23456789012346e36);
    assert.equal(roundSignificant(5.123456789012345e37), 5.123456789012345e37);
  });

  it('readings and windows carry the decimal deltas, power and means', () => {
    const processor = createRecordProcessor();
    const records = Array.from({ length: 7 }, (_, seq) =>
      record({
        deviceId: 'dev-1',
        seq,
        tsMs: T0 + seq * 10_000,
        metrics: {
          temperatureC: [21.5, 21.6][seq % 2]!,
          humidityPct: 48.2,
          batteryV: 3.71,
          energyWh: [15250.9, 15251.2, 15251.5, 15251.8, 15252.1, 15252.4, 15252.7][seq]!,
        },
      }),
    );
    const rows = parseLines([...processor.process(records).results, ...processor.flush().results]);
    const reading = rows.find((row) => row.kind === 'reading' && row.seq === 1)!;
    assert.deepEqual(reading.deltas, { energyWh: 0.3 });
    assert.equal(reading.powerW, 108);
    const window = rows.find((row) => row.kind === 'window')! as {
      metrics: Record<string, { mean: number; sumDelta?: number }>;
    };
    assert.equal(window.metrics.temperatureC!.mean, 21.55);
    assert.equal(window.metrics.energyWh!.sumDelta, 1.5);
  });
});
