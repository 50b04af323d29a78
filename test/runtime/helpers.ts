/** Shared by the runtime tests: telemetry records, stream writes and reading what Firehose delivered. */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { AwsClients } from '../../consumers/aws/clients.ts';
import { TELEMETRY_DETAIL_TYPE, TELEMETRY_SOURCE } from '../../consumers/contract/telemetry.ts';
import { type EnsuredResources, ensureResources } from '../../local/resources.ts';

export interface TestRecord {
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly deviceId: string;
  readonly seq: number;
}

/**
 * EventBridge envelopes as the rule writes them to Kinesis: `devices` devices, seq `fromSeq` until
 * `toSeq` (exclusive), one reading a second of device time ending near now, interleaved by seq; the
 * temperature jumps around unless `temperatureC` says otherwise.
 */
export function telemetry(
  devices: number,
  fromSeq: number,
  toSeq: number,
  baseMs: number,
  temperatureC: (device: number, seq: number) => number = (d, seq) => 20 + ((seq * 7 + d) % 10),
): TestRecord[] {
  const records: TestRecord[] = [];
  for (let seq = fromSeq; seq < toSeq; seq++) {
    for (let d = 0; d < devices; d++) {
      const deviceId = `dev-${d}`;
      const event = {
        version: '0',
        id: `evt-${d}-${seq}`,
        'detail-type': TELEMETRY_DETAIL_TYPE,
        source: TELEMETRY_SOURCE,
        account: '000000000000',
        time: new Date(baseMs + seq * 1000).toISOString(),
        region: 'us-east-1',
        resources: [],
        detail: {
          deviceId,
          seq,
          ts: new Date(baseMs + seq * 1000).toISOString(),
          firmware: '1.0.0',
          metrics: {
            temperatureC: temperatureC(d, seq),
            humidityPct: 40 + (seq % 5),
            energyWh: seq * 10 + d,
          },
        },
      };
      records.push({ partitionKey: deviceId, data: Buffer.from(JSON.stringify(event)), deviceId, seq });
    }
  }
  return records;
}

/** Writes records with PutRecords (500 a call, in order); returns the last sequence number per shard. */
export async function putRecords(
  clients: Pick<AwsClients, 'kinesis'>,
  streamName: string,
  records: readonly TestRecord[],
  lastByShard: Map<string, string> = new Map(),
): Promise<Map<string, string>> {
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const response = await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: chunk.map((record) => ({ Data: record.data, PartitionKey: record.partitionKey })),
      }),
    );
    assert.equal(response.FailedRecordCount ?? 0, 0, 'test setup: PutRecords failed');
    for (const entry of response.Records ?? []) {
      const previous = lastByShard.get(entry.ShardId ?? '');
      if (previous === undefined || BigInt(entry.SequenceNumber ?? '0') > BigInt(previous)) {
        lastByShard.set(entry.ShardId ?? '', entry.SequenceNumber ?? '');
      }
    }
  }
  return lastByShard;
}

/** Every JSON line under a prefix (GZIP objects from the Firehose stand-in), with the object key. */
export async function deliveredLines(
  clients: Pick<AwsClients, 's3'>,
  bucket: string,
  prefix: string,
): Promise<Array<Record<string, unknown> & { id: string }>> {
  const lines: Array<Record<string, unknown> & { id: string }> = [];
  let token: string | undefined;
  do {
    const page = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const { Key } of page.Contents ?? []) {
      const object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      const text = (Key!.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
      for (const line of text.split('\n')) if (line !== '') lines.push(JSON.parse(line));
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return lines;
}

/** One isolated set of resources in a shared stack: its own stream, lease table, bucket, Firehose and DLQ. */
export async function isolatedResources(
  clients: AwsClients,
  tag: string,
  shardCount: number,
  stream?: string,
): Promise<EnsuredResources> {
  return ensureResources(
    clients,
    {
      bus: `bus-${tag}`,
      rule: `rule-${tag}`,
      stream: stream ?? `stream-${tag}`,
      leaseTable: `leases-${tag}`,
      correctionTable: `corrections-${tag}`,
      resultsDeliveryStream: `results-${tag}`,
      rawDeliveryStream: `raw-${tag}`,
      bucket: `bucket-${tag}`,
      dlq: `dlq-${tag}`,
      ruleDlq: `rule-dlq-${tag}`,
    },
    { shardCount, bufferIntervalSeconds: 900 },
  );
}

export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
