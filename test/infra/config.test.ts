import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemovalPolicy } from 'aws-cdk-lib';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { TELEMETRY_EVENT_PATTERN } from '../../consumers/contract/routing.ts';
import { runtimeConfigFromEnv } from '../../consumers/runtimes/runtime.ts';
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
