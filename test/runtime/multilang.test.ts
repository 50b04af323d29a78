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
  readonly child: ChildProcessWithoutNullStreams;
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
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
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
});
