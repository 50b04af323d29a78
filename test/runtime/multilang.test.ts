import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { snapshotKey } from '../../consumers/leases/snapshot-store.ts';
import type { EnsuredResources } from '../../local/resources.ts';
import { localWorkerEnv } from '../../local/runtime-config.ts';
import { type EmbeddedLocalStack, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import { deliveredLines, isolatedResources, telemetry } from './helpers.ts';

const SHARD = 'shardId-000000000000';

/** Plays the MultiLangDaemon: writes actions to the child's stdin, reads its stdout line by line. */
class FakeDaemon {
  /** Every child started, so a failed test cannot leave one waiting on its input forever. */
  static readonly all = new Set<FakeDaemon>();
  readonly child: ChildProcessWithoutNullStreams;
  /** The child's exit code, whenever it exits. */
  readonly exited: Promise<number | null>;
  readonly stdoutLines: string[] = [];
  stderr = '';
  #pending: string[] = [];
  #waiter: ((line: string) => void) | undefined;
  #buffer = '';

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'consumers/runtimes/multilang/main.ts'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    FakeDaemon.all.add(this);
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let newline = this.#buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.#buffer.slice(0, newline).trim();
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line !== '') {
          this.stdoutLines.push(line);
          if (this.#waiter !== undefined) {
            const waiter = this.#waiter;
            this.#waiter = undefined;
            waiter(line);
          } else this.#pending.push(line);
        }
        newline = this.#buffer.indexOf('\n');
      }
    });
  }

  send(message: object | string): void {
    this.child.stdin.write(`\n${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  }

  async next(timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const line =
      this.#pending.shift() ??
      (await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line from the child; stderr:\n${this.stderr.slice(-3000)}`)),
          timeoutMs,
        );
        this.#waiter = (value) => {
          clearTimeout(timer);
          resolve(value);
        };
      }));
    return JSON.parse(line);
  }

  async expectStatus(responseFor: string): Promise<void> {
    assert.deepEqual(await this.next(), { action: 'status', responseFor });
  }

  async exit(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }

  /** Every stdout line was a protocol message (status or checkpoint). */
  assertOnlyProtocolOutput(): void {
    for (const line of this.stdoutLines) {
      const message = JSON.parse(line);
      assert.ok(message.action === 'status' || message.action === 'checkpoint', line);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

function kinesisRecords(fromSeq: number, toSeq: number, baseMs: number, firstSequence: bigint) {
  return telemetry(3, fromSeq, toSeq, baseMs).map((record, index) => ({
    data: record.data.toString('base64'),
    partitionKey: record.partitionKey,
    sequenceNumber: (firstSequence + BigInt(index)).toString(),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: baseMs + toSeq * 1000 + 500,
  }));
}

describe('MultiLang child speaking the KCL protocol', () => {
  let stack: EmbeddedLocalStack;
  let clients: AwsClients;
  let resources: EnsuredResources;
  let env: NodeJS.ProcessEnv;
  const baseMs = Date.now() - 60_000;

  before(async () => {
    stack = await startLocalStack({ firehoseTickMs: 50 });
    clients = createAwsClients(localClientsConfig(stack));
    resources = await isolatedResources(clients, 'ml', 1);
    env = {
      ...localWorkerEnv(stack, resources),
      FLEETSTREAM_CHECKPOINT_INTERVAL_MS: '0',
    };
  });
  after(async () => {
    for (const daemon of FakeDaemon.all) if (daemon.child.exitCode === null) daemon.child.kill();
    clients.destroy();
    await stack.stop();
  });

  it('processes, checkpoints with state, survives bad lines, and checkpoints at shard end; a new child resumes warm', async () => {
    const first = new FakeDaemon(env);
    first.send({
      action: 'initialize',
      shardId: SHARD,
      sequenceNumber: 'TRIM_HORIZON',
      subSequenceNumber: 0,
    });
    await first.expectStatus('initialize');

    // Garbage must not crash the child nor produce output.
    first.send('this is not json');
    first.send({ no: 'action' });
    first.send({ action: 'dance' });

    const batch = kinesisRecords(0, 5, baseMs, 49_000_000_000_000_000_000n);
    const bad = {
      data: Buffer.from('{oops').toString('base64'),
      partitionKey: 'dev-x',
      sequenceNumber: '49000000000000000000099',
      approximateArrivalTimestamp: baseMs,
    };
    first.send({ action: 'processRecords', millisBehindLatest: 0, records: [...batch, bad] });
    const checkpoint = await first.next();
    assert.deepEqual(checkpoint, { action: 'checkpoint', sequenceNumber: bad.sequenceNumber });
    first.send({ action: 'checkpoint', sequenceNumber: bad.sequenceNumber });
    await first.expectStatus('processRecords');

    // The state that goes with that checkpoint was saved before the checkpoint was asked for.
    await clients.s3.send(
      new HeadObjectCommand({
        Bucket: resources.names.bucket,
        Key: snapshotKey(resources.names.stream, SHARD, bad.sequenceNumber),
      }),
    );
    assert.equal(await first.exit(), 0);

    // A second child takes over at the daemon's checkpoint and continues warm.
    const second = new FakeDaemon(env);
    second.send({ action: 'initialize', shardId: SHARD, sequenceNumber: bad.sequenceNumber });
    await second.expectStatus('initialize');
    const more = kinesisRecords(5, 8, baseMs, 49_000_000_000_000_000_100n);
    second.send({ action: 'processRecords', records: more });
    const cp = await second.next();
    assert.equal(cp.action, 'checkpoint');
    // The daemon may refuse (e.g. throttled): the child logs it and still acknowledges.
    second.send({ action: 'checkpoint', sequenceNumber: cp.sequenceNumber, error: 'ThrottlingException' });
    await second.expectStatus('processRecords');

    second.send({ action: 'shutdownRequested' });
    assert.equal((await second.next()).action, 'checkpoint');
    second.send({ action: 'checkpoint', sequenceNumber: more.at(-1)?.sequenceNumber });
    await second.expectStatus('shutdownRequested');

    second.send({ action: 'shardEnded' });
    assert.deepEqual(await second.next(), { action: 'checkpoint', sequenceNumber: null });
    second.send({ action: 'checkpoint', sequenceNumber: 'SHARD_END' });
    await second.expectStatus('shardEnded');
    await clients.s3.send(
      new HeadObjectCommand({
        Bucket: resources.names.bucket,
        Key: snapshotKey(resources.names.stream, SHARD, 'SHARD_END'),
      }),
    );

    second.send({ action: 'leaseLost' });
    await second.expectStatus('leaseLost');
    assert.equal(await second.exit(), 0);

    // Nothing but protocol lines ever reached stdout.
    for (const line of [...first.stdoutLines, ...second.stdoutLines]) {
      const message = JSON.parse(line);
      assert.ok(message.action === 'status' || message.action === 'checkpoint', line);
    }
    assert.match(first.stderr, /malformed line/);

    await stack.standIns.firehose.flush();
    const results = await deliveredLines(clients, resources.names.bucket, 'results/');
    const readings = new Map(results.filter((r) => r.kind === 'reading').map((r) => [r.id, r]));
    for (let seq = 0; seq < 8; seq++)
      for (let d = 0; d < 3; d++) assert.ok(readings.has(`dev-${d}:r:${seq}`));
    // Warm: the first reading after the takeover has a counter delta, which needs the previous reading's state.
    const resumed = readings.get('dev-1:r:5') as unknown as { deltas: Record<string, number> };
    assert.equal(resumed.deltas.energyWh, 10);
    assert.ok(!results.some((r) => r.kind === 'missing'), 'no false gaps after the takeover');

    const dlq = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: resources.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const rejection = JSON.parse(dlq.Messages?.[0]?.Body ?? '{}');
    assert.equal(rejection.reason, 'INVALID_JSON');
    assert.equal(Buffer.from(rejection.rawBase64, 'base64').toString(), '{oops');
  });

  it('rejects the broken records of a batch to the DLQ with their field named, and checkpoints past them', async () => {
    const shard = 'shardId-000000000007';
    const daemon = new FakeDaemon(env);
    daemon.send({ action: 'initialize', shardId: shard, sequenceNumber: 'TRIM_HORIZON' });
    await daemon.expectStatus('initialize');
    const [good0, good1, good2] = kinesisRecords(20, 21, baseMs, 49_000_000_000_000_000_300n);
    const at = (n: number) => (49_000_000_000_000_000_310n + BigInt(n)).toString();
    const broken = [
      { ...good0!, sequenceNumber: at(0), data: '%%% not base64 %%%' },
      { ...good0!, sequenceNumber: at(1), data: 7 },
      { ...good0!, sequenceNumber: undefined },
      { ...good0!, sequenceNumber: at(2), partitionKey: undefined },
      { ...good0!, sequenceNumber: at(3), approximateArrivalTimestamp: undefined },
      null,
      { ...good0!, sequenceNumber: at(4), data: Buffer.from('{"not":"telemetry"}').toString('base64') },
    ];
    daemon.send({ action: 'processRecords', records: [good0, good1, good2, ...broken] });
    // The checkpoint goes past the broken records: the last position of the batch that has one.
    assert.deepEqual(await daemon.next(), {
      action: 'checkpoint',
      sequenceNumber: at(4),
      subSequenceNumber: 0,
    });
    daemon.send({ action: 'checkpoint', sequenceNumber: at(4) });
    await daemon.expectStatus('processRecords');
    assert.equal(await daemon.exit(), 0);
    daemon.assertOnlyProtocolOutput();

    const rejections: Array<{ id: string; reason: string; message: string; rawBase64: string }> = [];
    for (let round = 0; round < 10 && rejections.length < broken.length; round++) {
      const { Messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      for (const message of Messages) rejections.push(JSON.parse(message.Body ?? '{}'));
    }
    const mine = rejections.filter((r) => r.id.startsWith(shard));
    assert.equal(mine.length, broken.length, JSON.stringify(mine.map((r) => r.message)));
    assert.deepEqual(
      mine.map((r) => r.reason).sort(),
      [...Array(6).fill('MALFORMED_ENVELOPE'), 'NOT_TELEMETRY'].sort(),
    );
    const messages = mine.map((r) => r.message).join('\n');
    for (const expected of [
      'records[3].data is not base64',
      'records[4].data is a number',
      'records[5].sequenceNumber is missing',
      'records[6].partitionKey is missing',
      'records[7].approximateArrivalTimestamp is missing',
      'records[8] is null',
    ])
      assert.ok(messages.includes(expected), `${expected} in\n${messages}`);
    // What came in place of base64 is kept for inspection.
    const notBase64 = mine.find((r) => r.message.includes('not base64'));
    assert.equal(Buffer.from(notBase64?.rawBase64 ?? '', 'base64').toString(), '%%% not base64 %%%');

    await stack.standIns.firehose.flush();
    const readings = (await deliveredLines(clients, resources.names.bucket, 'raw/')).filter(
      (line) => line.shardId === shard,
    );
    assert.equal(readings.length, 3, "the batch's readable records were processed");
  });

  it('exits 1 with the reason on stderr for an action it cannot act on, writing nothing but protocol', async () => {
    const daemon = new FakeDaemon(env);
    daemon.send({ action: 'initialize', shardId: 'shardId-000000000008', sequenceNumber: 'TRIM_HORIZON' });
    await daemon.expectStatus('initialize');
    // The daemon would wait forever for a status the child cannot truthfully give.
    daemon.send({ action: 'processRecords', records: 'nope' });
    assert.equal(await withTimeout(daemon.exited, 20_000, 'child exit'), 1);
    assert.match(daemon.stderr, /PROTOCOL_VIOLATION|processRecords\.records is the string/);
    daemon.assertOnlyProtocolOutput();
    assert.equal(daemon.stdoutLines.length, 1);
  });

  it('exits 1 when the input closes while it waits for a checkpoint reply', async () => {
    const daemon = new FakeDaemon(env);
    daemon.send({ action: 'initialize', shardId: 'shardId-000000000009', sequenceNumber: 'TRIM_HORIZON' });
    await daemon.expectStatus('initialize');
    daemon.send({
      action: 'processRecords',
      records: kinesisRecords(30, 31, baseMs, 49_000_000_000_000_000_400n),
    });
    assert.equal((await daemon.next()).action, 'checkpoint');
    // The daemon goes away mid-batch, before answering.
    assert.equal(await withTimeout(daemon.exit(), 20_000, 'child exit'), 1);
    assert.match(daemon.stderr, /input closed while a checkpoint reply was awaited/);
    daemon.assertOnlyProtocolOutput();
  });
});
