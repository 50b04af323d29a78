import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sampleCorrelation } from 'simple-statistics';
import { DEFAULT_FLEET_CONFIG } from '../../consumers/config.ts';
import { createFleet, type FleetSpec, fleetReadings } from '../../sim/fleet.ts';
import { Rng } from '../../sim/random.ts';
import type { Reading } from '../../sim/signals.ts';

const HOUR_MS = 3_600_000;
const START = Date.parse('2026-11-20T00:00:00.000Z');

function spec(overrides: Partial<FleetSpec> = {}): FleetSpec {
  return {
    seed: 42,
    devices: 4,
    intervalMs: 10 * 60_000,
    startMs: START,
    readingsPerDevice: 3 * 144,
    meanHoursBetweenReboots: 24,
    ...overrides,
  };
}

function byDevice(readings: Iterable<Reading>): Map<string, Reading[]> {
  const out = new Map<string, Reading[]>();
  for (const reading of readings) {
    const list = out.get(reading.deviceId) ?? [];
    list.push(reading);
    out.set(reading.deviceId, list);
  }
  return out;
}

describe('Rng', () => {
  it('repeats a stream for the same seed and label and differs otherwise', () => {
    const draw = (seed: number, label: string) => {
      const rng = new Rng(seed, label);
      return Array.from({ length: 50 }, () => rng.nextUint32());
    };
    assert.deepEqual(draw(7, 'a'), draw(7, 'a'));
    assert.notDeepEqual(draw(7, 'a'), draw(8, 'a'));
    assert.notDeepEqual(draw(7, 'a'), draw(7, 'b'));
  });

  it('draws uniform values in [0, 1) with the right mean and normals with the right spread', () => {
    const rng = new Rng('moments');
    const uniforms = Array.from({ length: 20_000 }, () => rng.next());
    assert.ok(uniforms.every((u) => u >= 0 && u < 1));
    const mean = uniforms.reduce((a, b) => a + b, 0) / uniforms.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    const normals = Array.from({ length: 20_000 }, () => rng.normal(3, 2));
    const m = normals.reduce((a, b) => a + b, 0) / normals.length;
    const sd = Math.sqrt(normals.reduce((a, b) => a + (b - m) ** 2, 0) / normals.length);
    assert.ok(Math.abs(m - 3) < 0.05 && Math.abs(sd - 2) < 0.05, `mean ${m} sd ${sd}`);
  });
});

describe('fleet generator', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    const a = [...fleetReadings(spec({ readingsPerDevice: 100 }))];
    const b = [...fleetReadings(spec({ readingsPerDevice: 100 }))];
    const c = [...fleetReadings(spec({ readingsPerDevice: 100, seed: 43 }))];
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((r) => r.metrics),
      c.map((r) => r.metrics),
    );
  });

  it("gives a device the same series whatever the fleet's size", () => {
    const small = byDevice(fleetReadings(spec({ devices: 2, readingsPerDevice: 80 })));
    const large = byDevice(fleetReadings(spec({ devices: 9, readingsPerDevice: 80 })));
    assert.ok(small.has('dev-000001') && large.has('dev-000001'));
    assert.deepEqual(small.get('dev-000001'), large.get('dev-000001'));
  });

  it('emits readings in device-time order with seq counting up by one per device', () => {
    const readings = [...fleetReadings(spec({ devices: 6, readingsPerDevice: 50 }))];
    for (let i = 1; i < readings.length; i++) {
      assert.ok((readings[i] as Reading).tsMs >= (readings[i - 1] as Reading).tsMs);
    }
    for (const series of byDevice(readings).values()) {
      series.forEach((reading, i) => {
        assert.equal(reading.seq, i);
      });
    }
  });

  it('has a daily temperature cycle peaking in the afternoon, with humidity moving against it', () => {
    const s = spec();
    const profiles = createFleet(s);
    for (const [deviceId, series] of byDevice(fleetReadings(s, profiles))) {
      const profile = profiles.find((p) => p.deviceId === deviceId);
      assert.ok(profile !== undefined);
      const phase = series.map((r) => {
        const localHour = (r.tsMs / HOUR_MS + profile.utcOffsetHours) % 24;
        return Math.cos((2 * Math.PI * (localHour - profile.climate.warmestHour)) / 24);
      });
      const temperature = series.map((r) => r.metrics.temperatureC);
      const humidity = series.map((r) => r.metrics.humidityPct);
      // Weather noise blurs the cycle; a clear diurnal signal still dominates over three days.
      assert.ok(
        sampleCorrelation(phase, temperature) > 0.6,
        `${deviceId}: temperature follows the daily cycle`,
      );
      assert.ok(sampleCorrelation(temperature, humidity) < -0.4, `${deviceId}: humidity falls as it warms`);
      // A 12-hour shift puts the cycle in antiphase.
      const shifted = series.map((r) => {
        const localHour = (r.tsMs / HOUR_MS + profile.utcOffsetHours) % 24;
        return Math.cos((2 * Math.PI * (localHour - profile.climate.warmestHour - 12)) / 24);
      });
      assert.ok(sampleCorrelation(shifted, temperature) < -0.6);
    }
  });

  it('discharges and recharges batteries within the cell voltage range', () => {
    const series = byDevice(fleetReadings(spec({ devices: 3, readingsPerDevice: 6 * 144 })));
    for (const [deviceId, readings] of series) {
      const volts = readings.map((r) => r.metrics.batteryV);
      assert.ok(
        volts.every((v) => v >= 3.25 && v <= 4.25),
        `${deviceId}: ${Math.min(...volts)}..${Math.max(...volts)}`,
      );
      // Swings of 0.1 V are far beyond the sensor noise (a few mV): real discharge and recharge.
      let lowest = Infinity;
      let highest = -Infinity;
      let recharge = 0;
      let discharge = 0;
      for (const v of volts) {
        lowest = Math.min(lowest, v);
        highest = Math.max(highest, v);
        recharge = Math.max(recharge, v - lowest);
        discharge = Math.max(discharge, highest - v);
      }
      assert.ok(discharge > 0.1, `${deviceId} discharges (${discharge} V)`);
      assert.ok(recharge > 0.1, `${deviceId} recharges (${recharge} V)`);
    }
  });

  it('keeps energy counters monotone except at labeled reboots, which restart them near zero', () => {
    const readings = [...fleetReadings(spec({ devices: 5, meanHoursBetweenReboots: 12 }))];
    let reboots = 0;
    for (const series of byDevice(readings).values()) {
      for (let i = 1; i < series.length; i++) {
        const previous = series[i - 1] as Reading;
        const current = series[i] as Reading;
        if (current.rebooted) {
          reboots++;
          assert.ok(current.metrics.energyWh < 0.1 * previous.metrics.energyWh, 'a reset is a clear drop');
        } else {
          assert.ok(current.metrics.energyWh >= previous.metrics.energyWh, `seq ${current.seq} monotone`);
        }
      }
    }
    assert.ok(reboots > 0, 'three days at a 12-hour mean reboot some devices');
  });

  it('property: every reading is inside the fleet rules and seq never resets', () => {
    const ranges = new Map(DEFAULT_FLEET_CONFIG.metrics.map((m) => [m.name, m]));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 120 }),
        fc.integer({ min: 1_000, max: 3_600_000 }),
        (seed, devices, readingsPerDevice, intervalMs) => {
          const series = byDevice(
            fleetReadings(spec({ seed, devices, readingsPerDevice, intervalMs, meanHoursBetweenReboots: 2 })),
          );
          assert.equal(series.size, devices);
          for (const readings of series.values()) {
            assert.equal(readings.length, readingsPerDevice);
            readings.forEach((reading, i) => {
              assert.equal(reading.seq, i);
              for (const [name, value] of Object.entries(reading.metrics)) {
                const range = ranges.get(name);
                assert.ok(
                  range !== undefined && value >= range.min && value <= range.max,
                  `${name}=${value}`,
                );
              }
              const previous = readings[i - 1];
              if (previous !== undefined && !reading.rebooted) {
                assert.ok(reading.metrics.energyWh >= previous.metrics.energyWh);
              }
            });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
