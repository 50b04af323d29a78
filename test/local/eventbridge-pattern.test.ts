import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TELEMETRY_EVENT_PATTERN } from '../../consumers/contract/routing.ts';
import { EventPatternError, matchesPattern, parseEventPattern } from '../../local/eventbridge/pattern.ts';

const matches = (pattern: object, event: object) =>
  matchesPattern(parseEventPattern(JSON.stringify(pattern)), event);

const telemetry = {
  version: '0',
  id: 'e1',
  'detail-type': 'Telemetry',
  source: 'iot.fleet',
  account: '000000000000',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:iot:us-east-1:000000000000:thing/dev-1'],
  detail: {
    deviceId: 'dev-1',
    seq: 7,
    metrics: { temperatureC: 21.5 },
    firmware: 'v2.1.0',
    tags: ['a', 'b'],
  },
};

describe('EventBridge event patterns (pure)', () => {
  it('matches the routing rule on source and detail-type only', () => {
    assert.equal(matches(TELEMETRY_EVENT_PATTERN, telemetry), true);
    assert.equal(matches(TELEMETRY_EVENT_PATTERN, { ...telemetry, source: 'iot.other' }), false);
    assert.equal(matches(TELEMETRY_EVENT_PATTERN, { ...telemetry, 'detail-type': 'Heartbeat' }), false);
    assert.equal(matches(TELEMETRY_EVENT_PATTERN, { detail: telemetry.detail }), false);
  });

  it('supports the content-filter operators', () => {
    const cases: Array<[object, boolean]> = [
      [{ detail: { deviceId: ['dev-1', 'dev-2'] } }, true],
      [{ detail: { deviceId: [{ prefix: 'dev-' }] } }, true],
      [{ detail: { deviceId: [{ prefix: 'sensor-' }] } }, false],
      [{ detail: { firmware: [{ suffix: '.0' }] } }, true],
      [{ detail: { deviceId: [{ 'equals-ignore-case': 'DEV-1' }] } }, true],
      [{ detail: { deviceId: [{ 'anything-but': ['dev-1', 'dev-9'] }] } }, false],
      [{ detail: { deviceId: [{ 'anything-but': 'dev-2' }] } }, true],
      [{ detail: { deviceId: [{ 'anything-but': { prefix: 'dev' } }] } }, false],
      [{ detail: { seq: [{ numeric: ['>', 0, '<=', 7] }] } }, true],
      [{ detail: { seq: [{ numeric: ['>', 7] }] } }, false],
      [{ detail: { seq: [7] } }, true],
      [{ detail: { metrics: { temperatureC: [{ numeric: ['>=', -60, '<', 100] }] } } }, true],
      [{ detail: { firmware: [{ exists: true }] } }, true],
      [{ detail: { location: [{ exists: false }] } }, true],
      [{ detail: { firmware: [{ exists: false }] } }, false],
      [{ detail: { location: [{ exists: true }] } }, false],
      // An array in the event matches if any element does.
      [{ detail: { tags: ['b'] } }, true],
      [{ resources: [{ prefix: 'arn:aws:iot:' }] }, true],
      [{ $or: [{ detail: { seq: [1] } }, { detail: { deviceId: ['dev-1'] } }] }, true],
      [{ $or: [{ detail: { seq: [1] } }, { detail: { deviceId: ['dev-2'] } }] }, false],
      // A scalar matcher never matches an object and a missing field matches nothing but exists:false.
      [{ detail: { metrics: ['x'] } }, false],
      [{ detail: { missing: [null] } }, false],
    ];
    for (const [pattern, expected] of cases) {
      assert.equal(matches(pattern, telemetry), expected, JSON.stringify(pattern));
    }
  });

  it('refuses patterns EventBridge refuses', () => {
    for (const text of [
      'not json',
      '[]',
      '{}',
      '{"source":"iot.fleet"}',
      '{"source":[]}',
      '{"source":[{"regex":"x"}]}',
      '{"source":[{"prefix":1}]}',
      '{"detail":{"seq":[{"numeric":[">"]}]}}',
      '{"detail":{"seq":[{"numeric":["!=",1]}]}}',
      '{"$or":[{"source":["a"]}]}',
    ]) {
      assert.throws(() => parseEventPattern(text), EventPatternError, text);
    }
  });

  it('numeric ranges agree with plain comparison (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (x, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const pattern = { detail: { v: [{ numeric: ['>=', low, '<', high] }] } };
          return matches(pattern, { detail: { v: x } }) === (x >= low && x < high);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('anything-but is the complement of an exact match for present strings (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 4 }), fc.string(), (excluded, value) => {
        const event = { detail: { v: value } };
        const exact = matches({ detail: { v: excluded } }, event);
        const anythingBut = matches({ detail: { v: [{ 'anything-but': excluded }] } }, event);
        return exact !== anythingBut;
      }),
      { numRuns: 300 },
    );
  });
});
