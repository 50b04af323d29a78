import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFleetConfig } from '../../consumers/config.ts';
import { decodeTelemetry } from '../../consumers/contract/decode.ts';
import { RejectReason } from '../../consumers/contract/reasons.ts';
import { NEW_DEVICE, Verifier } from '../../consumers/verify/verify.ts';
import { envelope, type ReadingSpec, T0 } from './fixtures.ts';

function check(spec: ReadingSpec, options: { history?: typeof NEW_DEVICE; firmware?: string[] } = {}) {
  const config = parseFleetConfig(
    options.firmware === undefined ? {} : { firmwareAllowList: options.firmware },
  );
  const decoded = decodeTelemetry(Buffer.from(JSON.stringify(envelope(spec))), config.maxRecordBytes);
  assert.ok(decoded.ok);
  if (!decoded.ok) throw new Error('unreachable');
  return new Verifier(config).check(
    decoded.detail,
    decoded.tsMs,
    spec.arrivalMs ?? spec.tsMs,
    options.history ?? NEW_DEVICE,
  );
}

describe('Verifier', () => {
  it('accepts a plausible reading', () => {
    assert.equal(check({ seq: 1, tsMs: T0 }), undefined);
  });
  it('METRIC_OUT_OF_RANGE names the metric and the range', () => {
    const violation = check({ seq: 1, tsMs: T0, metrics: { humidityPct: 140 } });
    assert.equal(violation?.reason, RejectReason.MetricOutOfRange);
    assert.match(violation?.message ?? '', /humidityPct.*\[0, 100\]/);
    assert.equal(
      check({ seq: 1, tsMs: T0, metrics: { temperatureC: -61 } })?.reason,
      RejectReason.MetricOutOfRange,
    );
  });
  it('range limits are inclusive', () => {
    assert.equal(check({ seq: 1, tsMs: T0, metrics: { humidityPct: 100, temperatureC: -60 } }), undefined);
  });
  it('CLOCK_SKEW_FUTURE when device time runs ahead of arrival beyond the limit', () => {
    assert.equal(check({ seq: 1, tsMs: T0 + 301_000, arrivalMs: T0 })?.reason, RejectReason.ClockSkewFuture);
    assert.equal(check({ seq: 1, tsMs: T0 + 299_000, arrivalMs: T0 }), undefined);
  });
  it('CLOCK_SKEW_PAST when device time is older than the accepted age', () => {
    const eightDays = 8 * 24 * 3_600_000;
    assert.equal(check({ seq: 1, tsMs: T0 - eightDays, arrivalMs: T0 })?.reason, RejectReason.ClockSkewPast);
  });
  it('SEQ_REGRESSION when seq goes back while device time goes forward', () => {
    const history = { highestSeq: 100, highestSeqTsMs: T0 };
    assert.equal(check({ seq: 50, tsMs: T0 + 1000 }, { history })?.reason, RejectReason.SeqRegression);
    // Older seq with older time is a late event, left to the calculation.
    assert.equal(check({ seq: 50, tsMs: T0 - 50_000 }, { history }), undefined);
  });
  it('FIRMWARE_NOT_ALLOWED for a version off the list or no version at all', () => {
    assert.equal(
      check({ seq: 1, tsMs: T0, firmware: '9.9.9' }, { firmware: ['2.4.1'] })?.reason,
      RejectReason.FirmwareNotAllowed,
    );
    assert.equal(
      check({ seq: 1, tsMs: T0 }, { firmware: ['2.4.1'] })?.reason,
      RejectReason.FirmwareNotAllowed,
    );
    assert.equal(check({ seq: 1, tsMs: T0, firmware: '2.4.1' }, { firmware: ['2.4.1'] }), undefined);
  });
});

describe('parseFleetConfig', () => {
  it('returns the documented defaults', () => {
    const config = parseFleetConfig();
    assert.equal(config.windowMs, 60_000);
    assert.equal(config.metrics.find((m) => m.name === 'energyWh')?.kind, 'counter');
  });
  it('refuses lateness not smaller than the window, duplicate metrics and empty ranges', () => {
    assert.throws(() => parseFleetConfig({ allowedLatenessMs: 60_000 }), /allowedLatenessMs/);
    assert.throws(
      () =>
        parseFleetConfig({
          metrics: [
            { name: 'a', kind: 'gauge', min: 0, max: 1 },
            { name: 'a', kind: 'gauge', min: 0, max: 1 },
          ],
        }),
      /twice/,
    );
    assert.throws(
      () => parseFleetConfig({ metrics: [{ name: 'a', kind: 'gauge', min: 1, max: 1 }] }),
      /min < max/,
    );
    assert.throws(
      () => parseFleetConfig({ windowMs: 0 }),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID',
    );
    assert.throws(() => parseFleetConfig({ firmwareAllowList: [] }), /at least one version/);
  });
});
