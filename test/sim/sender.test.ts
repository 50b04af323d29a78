import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { ensureResources } from '../../local/resources.ts';
import { parseSimulationConfig, type SimulationOverrides } from '../../sim/config.ts';
import { type EventLine, expectedAccounting, MemoryGroundTruth } from '../../sim/ground-truth.ts';
import { type Clock, PUT_EVENTS_MAX_ENTRIES } from '../../sim/sender.ts';
import { runSimulation } from '../../sim/simulate.ts';
import { eventBridgePort, kinesisPort } from '../../sim/transport.ts';
import { useLocalStack } from '../support/local-stack.ts';
import { type EntryRule, startWireEndpoint, type WireEndpoint } from './wire-endpoint.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Real SDK clients against `endpoint`; one SDK attempt per call so the simulator's own retries are tested. */
function portsFor(endpoint: WireEndpoint) {
  const common = { region: 'us-east-1', endpoint: endpoint.url, credentials, maxAttempts: 1 };
  const eventbridge = new EventBridgeClient({ ...common, requestHandler: new NodeHttpHandler() });
  const kinesis = new KinesisClient({ ...common, requestHandler: new NodeHttpHandler() });
  return {
    ports: { bus: eventBridgePort(eventbridge, 'bus'), stream: kinesisPort(kinesis, 'stream') },
    destroy: () => {
      eventbridge.destroy();
      kinesis.destroy();
    },
  };
}

function config(overrides: SimulationOverrides = {}) {
  return parseSimulationConfig({
    devices: 6,
    rate: Infinity,
    readingsPerDevice: 40,
    seed: 3,
    startMs: Date.parse('2026-11-23T00:00:00.000Z'),
    sender: { backoffBaseMs: 1, backoffMaxMs: 5 },
    ...overrides,
  });
}

const events = (truth: MemoryGroundTruth): EventLine[] =>
  truth.lines.filter((line): line is EventLine => line.type === 'event');

describe('sender against a wire endpoint that throttles and fails', () => {
  // Every third distinct entry is throttled on its first two attempts.
  let seen = 0;
  const flaky: EntryRule = (entry, attempt) => {
    if (attempt === 1) seen++;
    if (seen % 3 !== 0 || attempt > 2) return undefined;
    return entry.kind === 'event' ? 'ThrottlingException' : 'ProvisionedThroughputExceededException';
  };
  let endpoint: WireEndpoint;
  before(async () => {
    endpoint = await startWireEndpoint(flaky);
  });
  after(async () => {
    await endpoint.close();
  });

  it('delivers every record exactly once through entry and call failures, in batches within the quotas', async () => {
    endpoint.failCalls(2, 500, 'InternalFailure');
    const { ports, destroy } = portsFor(endpoint);
    const truth = new MemoryGroundTruth();
    try {
      const report = await runSimulation(config(), ports, { groundTruth: truth });
      const lines = events(truth);
      assert.equal(lines.length, report.records);
      assert.equal(report.failed, 0);
      assert.equal(report.delivered, report.records - report.dropped);
      assert.equal(endpoint.accepted.length, report.delivered, 'each delivered record reached the wire once');
      assert.ok(report.eventbridge.retried > 0 && report.kinesis.retried > 0);
      assert.ok((report.eventbridge.errors.ThrottlingException ?? 0) > 0);
      assert.ok((report.kinesis.errors.ProvisionedThroughputExceededException ?? 0) > 0);
      assert.ok(Object.keys(report.eventbridge.errors).some((code) => code.includes('InternalFailure')));
      assert.ok(lines.some((line) => (line.attempts ?? 0) >= 3));
      assert.ok(endpoint.batchSizes.every((b) => b.kind === 'record' || b.size <= PUT_EVENTS_MAX_ENTRIES));
      assert.ok(endpoint.batchSizes.some((b) => b.kind === 'event' && b.size === PUT_EVENTS_MAX_ENTRIES));

      // What the wire received is what the ground truth says was delivered, record for record.
      const sentDetails = endpoint.accepted
        .filter((e) => e.kind === 'event')
        .map((e) => JSON.parse(e.payload.toString('utf8')) as { deviceId: string; seq: number })
        .map((d) => `${d.deviceId}:${d.seq}`)
        .sort();
      const truthDetails = lines
        .filter((l) => l.delivered && l.via === 'eventbridge')
        .map((l) => `${l.deviceId}:${l.seq}`)
        .sort();
      assert.deepEqual(sentDetails, truthDetails);
      const direct = endpoint.accepted.filter((e) => e.kind === 'record');
      assert.equal(direct.length, report.expected.sentVia.kinesis);
      assert.ok(direct.every((e) => e.partitionKey?.startsWith('dev-')));
      assert.deepEqual(report.expected, expectedAccounting(truth.lines));
    } finally {
      destroy();
    }
  });
});

describe('sender giving up', () => {
  it('records entries refused for good as undelivered, and the accounting counts them missing', async () => {
    // A non-retryable entry error for seq 10 of every device.
    const endpoint = await startWireEndpoint((entry) => {
      if (entry.kind !== 'event') return undefined;
      const detail = JSON.parse(entry.payload.toString('utf8')) as { seq: number };
      return detail.seq === 10 ? 'MalformedDetail' : undefined;
    });
    const { ports, destroy } = portsFor(endpoint);
    const truth = new MemoryGroundTruth();
    try {
      const report = await runSimulation(config({ faults: 'none' }), ports, { groundTruth: truth });
      const refused = events(truth).filter((l) => !l.delivered);
      assert.equal(refused.length, 6);
      assert.ok(refused.every((l) => l.seq === 10 && l.error === 'MalformedDetail' && l.attempts === 1));
      assert.equal(report.failed, 6);
      assert.equal(report.expected.undelivered, 6);
      assert.equal(report.expected.missing, 6);
      assert.equal(report.expected.accepted, 6 * 39);
    } finally {
      destroy();
      await endpoint.close();
    }
  });
});

describe('pacing', () => {
  // Pacing needs no injected failures, so the real embedded stack takes the sends.
  const local = useLocalStack();
  before(async () => {
    await ensureResources(local.clients, {}, { shardCount: 1 });
  });

  it('sends on the schedule the rate sets (virtual clock), flushing part-filled batches', async () => {
    const { eventbridge, kinesis } = local.clients;
    const ports = {
      bus: eventBridgePort(eventbridge, DEFAULT_NAMES.bus),
      stream: kinesisPort(kinesis, DEFAULT_NAMES.stream),
    };
    // Entries per PutEvents / PutRecords call, as the real clients send them.
    const batchSizes: number[] = [];
    eventbridge.middlewareStack.add(
      (next) => async (args) => {
        batchSizes.push((args.input as { Entries?: unknown[] }).Entries?.length ?? 0);
        return next(args);
      },
      { step: 'initialize', name: 'countEntries' },
    );
    kinesis.middlewareStack.add(
      (next) => async (args) => {
        batchSizes.push((args.input as { Records?: unknown[] }).Records?.length ?? 0);
        return next(args);
      },
      { step: 'initialize', name: 'countEntries' },
    );
    let now = Date.parse('2026-11-23T08:00:00.000Z');
    const start = now;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const truth = new MemoryGroundTruth();
    try {
      // 4 devices × 20 events/s for 5 s: 100 readings, one every 10 ms of wall time.
      const report = await runSimulation(
        config({ rate: 20, durationSeconds: 5, readingsPerDevice: undefined, devices: 4, faults: 'none' }),
        ports,
        { groundTruth: truth, clock },
      );
      assert.equal(report.delivered, 100);
      const lines = events(truth);
      const startMs = Date.parse(report.start);
      const speedup = report.speedup ?? 1;
      // Nothing leaves before its due time: device time mapped onto the wall clock by the speed-up.
      for (const line of lines) {
        const due = start + (Date.parse(line.ts) - startMs) / speedup;
        // sentAt is printed to the millisecond.
        assert.ok(
          Date.parse(line.sentAt ?? '') >= Math.floor(due),
          `${line.deviceId}:${line.seq} sent on time`,
        );
      }
      // The run takes the wall time the rate implies: the last reading is due 4.75–5 s in.
      const last = Math.max(...lines.map((l) => Date.parse(l.sentAt ?? '')));
      assert.ok(last >= start + 4_750, `last sent ${last - start} ms in`);
      // Every reading went out in exactly one call (no retries against the stack)...
      assert.equal(
        batchSizes.reduce((a, b) => a + b, 0),
        100,
      );
      // ...and 20 events/s with a 50 ms buffer: batches stay small instead of waiting to fill.
      assert.ok(
        batchSizes.every((size) => size <= 2),
        `batch sizes ${batchSizes.join(',')}`,
      );
    } finally {
      eventbridge.middlewareStack.remove('countEntries');
      kinesis.middlewareStack.remove('countEntries');
    }
  });
});
