import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTelemetry } from '../../consumers/contract/decode.ts';
import { RejectReason } from '../../consumers/contract/reasons.ts';
import { envelope, T0 } from './fixtures.ts';

const LIMIT = 65_536;
const bytes = (value: unknown): Buffer =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const good = () => envelope({ seq: 7, tsMs: T0 });

function rejects(data: Uint8Array, reason: RejectReason, limit = LIMIT) {
  const result = decodeTelemetry(data, limit);
  assert.equal(result.ok, false, `expected ${reason}`);
  if (!result.ok) {
    assert.equal(result.reason, reason, result.message);
    assert.ok(result.message.length > 0);
  }
  return result;
}

describe('decodeTelemetry', () => {
  it('accepts a well-formed EventBridge telemetry envelope', () => {
    const result = decodeTelemetry(bytes(good()), LIMIT);
    assert.ok(result.ok);
    if (result.ok) {
      assert.equal(result.detail.deviceId, 'dev-1');
      assert.equal(result.detail.seq, 7);
      assert.equal(result.tsMs, T0);
    }
  });

  it('accepts extra numeric metrics and an envelope without optional fields', () => {
    const event = { source: 'iot.fleet', 'detail-type': 'Telemetry', detail: good().detail };
    (event.detail as { metrics: Record<string, number> }).metrics.co2Ppm = 415;
    assert.ok(decodeTelemetry(bytes(event), LIMIT).ok);
  });

  it('EMPTY_RECORD', () => {
    rejects(new Uint8Array(0), RejectReason.EmptyRecord);
  });
  it('RECORD_TOO_LARGE before any parsing', () => {
    rejects(bytes(good()), RejectReason.RecordTooLarge, 100);
  });
  it('INVALID_UTF8', () => {
    rejects(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), RejectReason.InvalidUtf8);
  });
  it('INVALID_JSON', () => {
    rejects(bytes('{"source": "iot.fleet",'), RejectReason.InvalidJson);
  });
  it('NOT_TELEMETRY for another source, another detail-type or a bare array', () => {
    rejects(bytes({ ...good(), source: 'aws.ec2' }), RejectReason.NotTelemetry);
    rejects(bytes({ ...good(), 'detail-type': 'Heartbeat' }), RejectReason.NotTelemetry);
    rejects(bytes([1, 2, 3]), RejectReason.NotTelemetry);
    rejects(bytes('null'), RejectReason.NotTelemetry);
  });
  it('SCHEMA_VIOLATION names the path and keeps the device id when present', () => {
    const event = good();
    (event.detail as Record<string, unknown>).seq = -1;
    const result = rejects(bytes(event), RejectReason.SchemaViolation);
    assert.ok(!result.ok && result.message.includes('/detail/seq'), !result.ok ? result.message : '');
    assert.ok(!result.ok && result.deviceId === 'dev-1');
  });
  it('SCHEMA_VIOLATION for a wrong metric type, a missing field, an unknown field and a bad metric name', () => {
    const wrongType = good();
    (wrongType.detail as { metrics: Record<string, unknown> }).metrics.temperatureC = '21';
    rejects(bytes(wrongType), RejectReason.SchemaViolation);
    const missing = good();
    delete (missing.detail as Record<string, unknown>).ts;
    rejects(bytes(missing), RejectReason.SchemaViolation);
    const extra = good();
    (extra.detail as Record<string, unknown>).colour = 'red';
    rejects(bytes(extra), RejectReason.SchemaViolation);
    const badName = good();
    (badName.detail as { metrics: Record<string, number> }).metrics['9lives'] = 1;
    rejects(bytes(badName), RejectReason.SchemaViolation);
  });
  it('SCHEMA_VIOLATION for more metrics than the contract bounds', () => {
    const event = good();
    const metrics: Record<string, number> = {};
    for (let i = 0; i < 33; i++) metrics[`m${i}`] = i;
    (event.detail as Record<string, unknown>).metrics = metrics;
    rejects(bytes(event), RejectReason.SchemaViolation);
  });
  it('INVALID_TIMESTAMP for a well-shaped but impossible instant', () => {
    const event = good();
    (event.detail as Record<string, unknown>).ts = '2026-13-45T25:61:00.000Z';
    rejects(bytes(event), RejectReason.InvalidTimestamp);
  });
  it('NON_FINITE_METRIC for 1e999, which JSON.parse turns into Infinity', () => {
    const text = JSON.stringify(good()).replace('"temperatureC":21', '"temperatureC":1e999');
    const result = rejects(bytes(text), RejectReason.NonFiniteMetric);
    assert.ok(!result.ok && result.message.includes('temperatureC'));
  });
});
