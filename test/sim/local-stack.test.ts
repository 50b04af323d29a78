/**
 * The simulator against the real embedded stack: PutEvents to the EventBridge stand-in, routed by the rule
 * to kinesalite; direct PutRecords for what EventBridge cannot carry. Everything is read back from the
 * stream with the real Kinesis client and compared with the ground truth, record by record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { TELEMETRY_DETAIL_TYPE, TELEMETRY_SOURCE } from '../../consumers/contract/telemetry.ts';
import { ensureResources } from '../../local/resources.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { parseSimulationConfig } from '../../sim/config.ts';
import { type EventLine, MemoryGroundTruth } from '../../sim/ground-truth.ts';
import type { SimRecord } from '../../sim/inject.ts';
import { planSimulation, runSimulation } from '../../sim/simulate.ts';
import { eventBridgePort, kinesisPort } from '../../sim/transport.ts';

interface StreamedRecord {
  readonly partitionKey: string;
  readonly data: Buffer;
}

async function readWholeStream(
  clients: AwsClients,
  stream: string,
  expected: number,
): Promise<StreamedRecord[]> {
  const shards = (await clients.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const iterators = new Map<string, string | undefined>();
  for (const shard of shards) {
    const { ShardIterator } = await clients.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    iterators.set(shard.ShardId as string, ShardIterator);
  }
  const out: StreamedRecord[] = [];
  // EventBridge delivers to its targets asynchronously: poll until everything sent has arrived.
  for (let round = 0; round < 100 && out.length < expected; round++) {
    for (const [shardId, iterator] of iterators) {
      if (iterator === undefined) continue;
      const page = await clients.kinesis.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }),
      );
      for (const record of page.Records ?? []) {
        out.push({
          partitionKey: record.PartitionKey as string,
          data: Buffer.from(record.Data as Uint8Array),
        });
      }
      iterators.set(shardId, page.NextShardIterator);
    }
    if (out.length < expected) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return out;
}

/** A comparable key for a record's payload: the detail as EventBridge carries it, or the raw bytes. */
function payloadKey(record: SimRecord): string {
  if (record.bus !== undefined) return `detail:${JSON.stringify(JSON.parse(record.bus.Detail))}`;
  return `raw:${Buffer.from(record.stream?.data ?? new Uint8Array()).toString('base64')}`;
}

function streamedKey(record: StreamedRecord): string {
  try {
    const event = JSON.parse(record.data.toString('utf8')) as {
      source?: string;
      'detail-type'?: string;
      detail?: unknown;
    };
    // A direct record is also an envelope; what tells them apart is that it is byte-identical to what was sent,
    // so the raw key is tried by the caller first.
    if (event.source === TELEMETRY_SOURCE && event['detail-type'] === TELEMETRY_DETAIL_TYPE) {
      return `detail:${JSON.stringify(event.detail)}`;
    }
  } catch {
    // Not JSON: only a direct record can be that.
  }
  return `raw:${record.data.toString('base64')}`;
}

describe('simulator on the embedded stack', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  before(async () => {
    stack = await startLocalStack();
    clients = createAwsClients(localClientsConfig(stack));
    await ensureResources(clients, {}, { shardCount: 2 });
  });
  after(async () => {
    clients?.destroy();
    await stack?.stop();
  });

  it('puts exactly what the ground truth says it sent on the stream, keyed and ordered by device', async () => {
    const config = parseSimulationConfig({
      devices: 8,
      rate: Infinity,
      readingsPerDevice: 60,
      seed: 'local-stack',
      startMs: Date.now() - 60 * 5_000,
      envelope: { region: stack.region, account: '000000000000' },
    });
    const truth = new MemoryGroundTruth();
    const report = await runSimulation(
      config,
      {
        bus: eventBridgePort(clients.eventbridge, 'fleetstream-telemetry'),
        stream: kinesisPort(clients.kinesis, 'fleetstream-telemetry'),
      },
      { groundTruth: truth },
    );
    assert.equal(report.failed, 0);
    assert.ok(report.expected.sentVia.kinesis > 0 && report.expected.duplicates > 0);

    // The plan is deterministic for the seed and start: regenerate the payloads the ground truth refers to.
    const byId = new Map<string, SimRecord>();
    for (const record of planSimulation(config, config.startMs as number).records()) {
      byId.set(`${record.deviceId}:${record.seq}:${record.copy}`, record);
    }
    const delivered = truth.lines.filter((l): l is EventLine => l.type === 'event' && l.delivered);
    assert.equal(delivered.length, report.expected.sent);

    const streamed = await readWholeStream(clients, 'fleetstream-telemetry', report.expected.sent);
    assert.equal(streamed.length, report.expected.sent, 'every delivered record is on the stream, once');

    const expectedKeys = new Map<string, number>();
    const expectedOrder = new Map<string, string[]>();
    for (const line of delivered) {
      const record = byId.get(`${line.deviceId}:${line.seq}:${line.copy}`);
      assert.ok(record !== undefined);
      const key = payloadKey(record);
      expectedKeys.set(key, (expectedKeys.get(key) ?? 0) + 1);
      if (record.via === 'eventbridge')
        expectedOrder.set(line.deviceId, [...(expectedOrder.get(line.deviceId) ?? []), key]);
    }
    const streamedOrder = new Map<string, string[]>();
    for (const record of streamed) {
      const raw = `raw:${record.data.toString('base64')}`;
      const key = expectedKeys.has(raw) ? raw : streamedKey(record);
      const left = expectedKeys.get(key) ?? 0;
      assert.ok(left > 0, `unexpected record on the stream: ${key.slice(0, 120)}`);
      expectedKeys.set(key, left - 1);
      // The rule's partition key path keys EventBridge's records by device, as the simulator keys its own.
      const deviceId = (JSON.parse(key.startsWith('detail:') ? key.slice(7) : '{}') as { deviceId?: string })
        .deviceId;
      if (deviceId !== undefined) {
        assert.equal(record.partitionKey, deviceId);
        streamedOrder.set(deviceId, [...(streamedOrder.get(deviceId) ?? []), key]);
      } else {
        assert.match(record.partitionKey, /^dev-\d{6}$/);
      }
    }
    assert.ok([...expectedKeys.values()].every((left) => left === 0));
    // One shard per device and one sending lane per device: a device's events keep their send order.
    assert.deepEqual(streamedOrder, expectedOrder);
  });
});
