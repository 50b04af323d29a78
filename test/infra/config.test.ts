import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemovalPolicy } from 'aws-cdk-lib';
import type { AwsClients } from '../../consumers/aws/clients.ts';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { TELEMETRY_EVENT_PATTERN } from '../../consumers/contract/routing.ts';
import { createRuntimeParts, runtimeConfigFromEnv } from '../../consumers/runtimes/runtime.ts';
import { stackPropsFromContext } from '../../infra/config.ts';
import { toEventPattern } from '../../infra/constructs/telemetry-ingest.ts';
import { RUNTIME_ENV } from '../../infra/names.ts';

const from = (context: Record<string, unknown>) => stackPropsFromContext((key) => context[key]);

describe('stackPropsFromContext', () => {
  it('leaves every prop at its construct default when no context is given', () => {
    const props = from({});
    for (const [key, value] of Object.entries(props)) assert.equal(value, undefined, key);
  });

  it('parses the documented keys', () => {
    const props = from({
      consumer: 'lambda',
      shards: '4',
      retentionHours: '48',
      initialPosition: 'LATEST',
      modelImageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/rcf:1',
      modelDataUrl: 's3://models/rcf/model.tar.gz',
      removalPolicy: 'destroy',
      maxTasks: 8,
      dlqProcessorEntry: 'consumers/dlq/handler.ts',
    });
    assert.equal(props.consumer, 'lambda');
    assert.deepEqual(props.streamCapacity, { mode: 'provisioned', shards: 4 });
    assert.equal(props.streamRetention?.toHours(), 48);
    assert.equal(props.initialPosition, 'LATEST');
    assert.equal(props.model?.modelDataUrl, 's3://models/rcf/model.tar.gz');
    assert.equal(props.removalPolicy, RemovalPolicy.DESTROY);
    assert.deepEqual(props.fargate, { maxTasks: 8 });
    assert.ok(props.dlqProcessorEntry?.endsWith('/consumers/dlq/handler.ts'));
    assert.ok(props.dlqProcessorEntry?.startsWith('/'), 'resolved against the repository root');
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ['unknown consumer', { consumer: 'ec2' }, /'consumer' must be one of fargate, lambda/],
    [
      'retention below the Kinesis minimum',
      { retentionHours: '23' },
      /'retentionHours' must be an integer in \[24, 8760\]/,
    ],
    ['retention above the Kinesis maximum', { retentionHours: 8761 }, /'retentionHours'/],
    ['fractional shards', { shards: '1.5' }, /'shards' must be an integer/],
    [
      'model image without data',
      { modelImageUri: 'x' },
      /'modelImageUri' and 'modelDataUrl' must be given together/,
    ],
    ['object instead of a string', { alarmEmail: { to: 'x' } }, /'alarmEmail' must be a string/],
    ['replay id with upper case', { replayId: 'Fix1' }, /'replayId' must be 1–32 lower-case letters/],
    ['replay id with an underscore', { replayId: 'fix_1' }, /'replayId' must be/],
    ['replay id starting with a hyphen', { replayId: '-fix' }, /'replayId' must be/],
    ['replay id of 33 characters', { replayId: 'a'.repeat(33) }, /'replayId' must be/],
    [
      'replay instant without a zone',
      { replayId: 'r1', replayFrom: '2025-11-23T18:00:00' },
      /'replayFrom' must be TRIM_HORIZON or an ISO-8601 instant with a zone/,
    ],
    ['replay on 30 February', { replayId: 'r1', replayFrom: '2025-02-30T00:00:00Z' }, /'replayFrom' must be/],
    ['replay instant with a space', { replayId: 'r1', replayFrom: '2025-11-23 18:00:00Z' }, /'replayFrom'/],
    ['replay from LATEST', { replayId: 'r1', replayFrom: 'LATEST' }, /'replayFrom' must be/],
    [
      'unknown replay output',
      { replayId: 'r1', replayOutput: 's3' },
      /'replayOutput' must be one of replay, results/,
    ],
    ['replay keys without an id', { replayFrom: 'TRIM_HORIZON' }, /'replayFrom' needs 'replayId'/],
    ['replay output without an id', { replayOutput: 'results' }, /'replayOutput' needs 'replayId'/],
    [
      'replay tasks for the Lambda consumer',
      { consumer: 'lambda', replayId: 'r1', replayTasks: '2' },
      /'replayTasks' is for consumer=fargate/,
    ],
  ];
  for (const [name, context, message] of invalid) {
    it(`rejects ${name} with CONFIG_INVALID`, () => {
      assert.throws(
        () => from(context),
        (error: unknown) =>
          error instanceof ConfigError && error.code === 'CONFIG_INVALID' && message.test(error.message),
      );
    });
  }
});

describe('stackPropsFromContext: replay', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const replayOf = (context: Record<string, unknown>) =>
    stackPropsFromContext((key) => context[key], now).replay;

  it('adds no replay without a replay id', () => {
    assert.equal(replayOf({}), undefined);
  });

  it('reads an id, an instant with its zone, the output and the tasks', () => {
    const replay = replayOf({
      replayId: '2025-11-23-fix',
      replayFrom: '2025-11-23T19:00:00.250+01:00',
      replayOutput: 'results',
      replayTasks: '3',
    });
    assert.equal(replay?.id, '2025-11-23-fix');
    assert.equal(replay?.from?.type, 'AT_TIMESTAMP');
    assert.equal(
      replay?.from?.type === 'AT_TIMESTAMP' && replay.from.at.toISOString(),
      '2025-11-23T18:00:00.250Z',
    );
    assert.equal(replay?.output, 'results');
    assert.equal(replay?.tasks, 3);
  });

  it('takes TRIM_HORIZON in either spelling, and leaves the rest to the construct defaults', () => {
    for (const spelling of ['TRIM_HORIZON', 'trim-horizon']) {
      assert.deepEqual(replayOf({ replayId: 'r1', replayFrom: spelling })?.from, { type: 'TRIM_HORIZON' });
    }
    const replay = replayOf({ replayId: 'r1' });
    assert.deepEqual(replay, { id: 'r1', from: undefined, output: undefined, tasks: undefined });
  });

  it('refuses an instant in the future: Kinesis has no records there', () => {
    assert.throws(
      () => replayOf({ replayId: 'r1', replayFrom: '2026-01-01T00:00:01Z' }),
      (error: unknown) => error instanceof ConfigError && /'replayFrom' is in the future/.test(error.message),
    );
    assert.equal(
      replayOf({ replayId: 'r1', replayFrom: '2026-01-01T00:00:00Z' })?.from?.type,
      'AT_TIMESTAMP',
    );
  });
});

describe('toEventPattern', () => {
  it('carries every field of the contract pattern', () => {
    assert.deepEqual(toEventPattern(TELEMETRY_EVENT_PATTERN), {
      source: [...TELEMETRY_EVENT_PATTERN.source],
      detailType: [...TELEMETRY_EVENT_PATTERN['detail-type']],
    });
  });

  it('refuses a key it cannot map instead of deploying a wider rule', () => {
    assert.throws(
      () => toEventPattern({ ...TELEMETRY_EVENT_PATTERN, account: ['123'] }),
      /'account' is not mapped/,
    );
  });
});

describe('runtime environment names', () => {
  it('are the names the consumer runtimes read', () => {
    const env = Object.fromEntries(Object.values(RUNTIME_ENV).map((name) => [name, `from-${name}`]));
    const config = runtimeConfigFromEnv({ ...env, AWS_REGION: 'eu-west-1' });
    assert.equal(config.streamName, `from-${RUNTIME_ENV.streamName}`);
    assert.equal(config.bucket, `from-${RUNTIME_ENV.stateBucket}`);
    assert.equal(config.resultsDeliveryStream, `from-${RUNTIME_ENV.resultsDeliveryStream}`);
    assert.equal(config.rawDeliveryStream, `from-${RUNTIME_ENV.rawDeliveryStream}`);
    assert.equal(config.dlqUrl, `from-${RUNTIME_ENV.dlqUrl}`);
    assert.equal(config.correctionsQueueUrl, `from-${RUNTIME_ENV.correctionsQueueUrl}`);
    assert.equal(config.model?.endpointName, `from-${RUNTIME_ENV.modelEndpoint}`);
    assert.equal(config.stateScope, `from-${RUNTIME_ENV.stateScope}`);
    assert.equal(runtimeConfigFromEnv({}).stateScope, undefined);
  });

  it('keys the state snapshots by the state scope when one is set, by the stream otherwise', async () => {
    const keys: string[] = [];
    const clients = {
      s3: { send: async (command: { input: { Key: string } }) => keys.push(command.input.Key) },
      firehose: {},
      sqs: {},
    } as unknown as AwsClients;
    const env = { [RUNTIME_ENV.streamName]: 'live', [RUNTIME_ENV.dlqUrl]: 'https://sqs/q' };
    for (const scope of [undefined, 'live/replay-r1']) {
      const config = runtimeConfigFromEnv(
        scope === undefined ? env : { ...env, [RUNTIME_ENV.stateScope]: scope },
      );
      const parts = await createRuntimeParts(config, clients, { inlineSnapshotMaxBytes: -1 });
      await parts.snapshots.save('shardId-000000000000', 'lambda', new Uint8Array([1]));
    }
    assert.deepEqual(keys, [
      'state/live/shardId-000000000000/lambda.bin',
      'state/live/replay-r1/shardId-000000000000/lambda.bin',
    ]);
  });

  it('reads the model settings with their defaults, and refuses bad ones at start', () => {
    const env = { [RUNTIME_ENV.modelEndpoint]: 'fleetstream-rcf' };
    assert.deepEqual(runtimeConfigFromEnv(env).model, {
      endpointName: 'fleetstream-rcf',
      metrics: ['temperatureC'],
      shingleSize: 8,
      sampleRate: 0.01,
      timeoutMs: 1000,
    });
    assert.equal(runtimeConfigFromEnv({}).model, undefined);
    assert.deepEqual(
      runtimeConfigFromEnv({ ...env, FLEETSTREAM_MODEL_METRICS: 'temperatureC, humidityPct' }).model?.metrics,
      ['temperatureC', 'humidityPct'],
    );
    for (const [name, value] of [
      ['FLEETSTREAM_MODEL_SAMPLE_RATE', '1.5'],
      ['FLEETSTREAM_MODEL_SHINGLE_SIZE', '2.5'],
      ['FLEETSTREAM_MODEL_TIMEOUT_MS', '0'],
      ['FLEETSTREAM_MODEL_METRICS', 'a,,b'],
    ] as const) {
      assert.throws(() => runtimeConfigFromEnv({ ...env, [name]: value }), ConfigError, name);
    }
  });
});
