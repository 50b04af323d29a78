import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseInstant } from '../../consumers/contract/instant.ts';

describe('parseInstant', () => {
  it('agrees with Date.parse on every real instant, in UTC and with offsets', () => {
    const instant = fc.date({
      min: new Date('0100-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z'),
      noInvalidDate: true,
    });
    const offset = fc.record({
      sign: fc.constantFrom('+', '-'),
      hours: fc.integer({ min: 0, max: 14 }),
      minutes: fc.constantFrom(0, 30, 45),
    });
    fc.assert(
      fc.property(instant, offset, fc.integer({ min: 0, max: 6 }), (date, o, extraDigits) => {
        const iso = date.toISOString();
        assert.equal(parseInstant(iso), date.getTime());
        const zone = `${o.sign}${String(o.hours).padStart(2, '0')}:${String(o.minutes).padStart(2, '0')}`;
        const withOffset = `${iso.slice(0, 23)}${'7'.repeat(extraDigits)}${zone}`;
        assert.equal(parseInstant(withOffset), Date.parse(withOffset), withOffset);
        const noFraction = `${iso.slice(0, 19)}Z`;
        assert.equal(parseInstant(noFraction), Date.parse(noFraction));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses what names no real instant, where Date.parse guesses', () => {
    for (const text of [
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T00:00:00',
      '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00.1234567890Z',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00+2:00',
      '2026-01-01T00:00:00ZZ',
    ]) {
      assert.ok(Number.isNaN(parseInstant(text)), text);
    }
    assert.equal(parseInstant('2024-02-29T12:00:00.5Z'), Date.parse('2024-02-29T12:00:00.500Z'));
  });
});
