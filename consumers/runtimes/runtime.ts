/**
 * Start-up wiring shared by every runtime entry (embedded worker process, MultiLang child, Lambda):
 * configuration read and validated once from the environment, then clients → sinks → snapshot store.
 * Nothing below knows whether the endpoints are AWS or the embedded stack.
 */
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { DEFAULT_ANOMALY_CONFIG } from '../../anomaly/config.ts';
import { createSqsCorrectionSink } from '../../anomaly/correction/sink.ts';
import { createModelClient } from '../../models/client/model-client.ts';
import { createAnomalyCombiner } from '../../models/combine.ts';
import { createModelReview, type ModelReview } from '../../models/review/model-review.ts';
import { type AwsClients, type AwsServiceName, createAwsClients } from '../aws/clients.ts';
import { ConfigError } from '../contract/errors.ts';
import { DEFAULT_NAMES } from '../contract/routing.ts';
import { createS3SnapshotStore, type S3SnapshotStore } from '../leases/snapshot-store.ts';
import { createFirehoseSink } from '../sinks/firehose-sink.ts';
import type { Sinks } from '../sinks/ports.ts';
import { createSqsDlqSink } from '../sinks/sqs-dlq-sink.ts';
import { endpointsFromEnv, nonEmpty } from './env.ts';

export interface RuntimeConfig {
  /** Env `AWS_REGION`. @default 'us-east-1' */
  readonly region: string;
  /** Env `FLEETSTREAM_STREAM`. @default DEFAULT_NAMES.stream */
  readonly streamName: string;
  /** Env `FLEETSTREAM_LEASE_TABLE`. @default DEFAULT_NAMES.leaseTable */
  readonly leaseTableName: string;
  /** Env `FLEETSTREAM_BUCKET`, for state snapshots. @default DEFAULT_NAMES.bucket */
  readonly bucket: string;
  /**
   * Env `FLEETSTREAM_STATE_SCOPE`: the name under `state/` that this application's snapshots are keyed by
   * (`state/<scope>/<shardId>/…`). A replay sets its own (`<stream>/replay-<id>`), so it never reads or
   * overwrites the live consumer's state.
   * @default the stream name
   */
  readonly stateScope?: string | undefined;
  /** Env `FLEETSTREAM_RESULTS_STREAM`. @default DEFAULT_NAMES.resultsDeliveryStream */
  readonly resultsDeliveryStream: string;
  /** Env `FLEETSTREAM_RAW_STREAM`. @default DEFAULT_NAMES.rawDeliveryStream */
  readonly rawDeliveryStream: string;
  /** Env `FLEETSTREAM_DLQ_URL`. @default resolved at start from the queue named DEFAULT_NAMES.dlq */
  readonly dlqUrl: string | undefined;
  /**
   * Env `FLEETSTREAM_CORRECTIONS_QUEUE_URL`: where correction requests go for the correction handler.
   * @default undefined — requests stay in the results only
   */
  readonly correctionsQueueUrl?: string | undefined;
  /** Env `FLEETSTREAM_ENDPOINT_<SERVICE>` (e.g. `FLEETSTREAM_ENDPOINT_KINESIS`). @default AWS regional endpoints */
  readonly endpoints: Partial<Record<AwsServiceName, string>>;
  /**
   * The served model's second opinion on in-stream alarms (models/review), on when env
   * `FLEETSTREAM_MODEL_ENDPOINT` names a SageMaker endpoint.
   * @default undefined — the in-stream detector decides alone
   */
  readonly model?: ModelRuntimeConfig | undefined;
}

export interface ModelRuntimeConfig {
  /** Env `FLEETSTREAM_MODEL_ENDPOINT`: the SageMaker endpoint name. */
  readonly endpointName: string;
  /** Env `FLEETSTREAM_MODEL_METRICS`, comma-separated, as the model was trained. @default ['temperatureC'] */
  readonly metrics: readonly string[];
  /** Env `FLEETSTREAM_MODEL_SHINGLE_SIZE`, as the model was trained. @default 8 */
  readonly shingleSize: number;
  /** Env `FLEETSTREAM_MODEL_SAMPLE_RATE`: share of ordinary readings also scored, in [0, 1]. @default 0.01 */
  readonly sampleRate: number;
  /** Env `FLEETSTREAM_MODEL_TIMEOUT_MS`: deadline of one InvokeEndpoint. @default 1000 */
  readonly timeoutMs: number;
}

export function runtimeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  return {
    region: nonEmpty(env, 'AWS_REGION', 'us-east-1'),
    streamName: nonEmpty(env, 'FLEETSTREAM_STREAM', DEFAULT_NAMES.stream),
    leaseTableName: nonEmpty(env, 'FLEETSTREAM_LEASE_TABLE', DEFAULT_NAMES.leaseTable),
    bucket: nonEmpty(env, 'FLEETSTREAM_BUCKET', DEFAULT_NAMES.bucket),
    ...(env.FLEETSTREAM_STATE_SCOPE === undefined
      ? {}
      : { stateScope: nonEmpty(env, 'FLEETSTREAM_STATE_SCOPE', '') }),
    resultsDeliveryStream: nonEmpty(env, 'FLEETSTREAM_RESULTS_STREAM', DEFAULT_NAMES.resultsDeliveryStream),
    rawDeliveryStream: nonEmpty(env, 'FLEETSTREAM_RAW_STREAM', DEFAULT_NAMES.rawDeliveryStream),
    dlqUrl: env.FLEETSTREAM_DLQ_URL === undefined ? undefined : nonEmpty(env, 'FLEETSTREAM_DLQ_URL', ''),
    correctionsQueueUrl:
      env.FLEETSTREAM_CORRECTIONS_QUEUE_URL === undefined
        ? undefined
        : nonEmpty(env, 'FLEETSTREAM_CORRECTIONS_QUEUE_URL', ''),
    endpoints: endpointsFromEnv(env),
    model: modelConfigFromEnv(env),
  };
}

function modelConfigFromEnv(env: NodeJS.ProcessEnv): ModelRuntimeConfig | undefined {
  if (env.FLEETSTREAM_MODEL_ENDPOINT === undefined) return undefined;
  const number = (name: string, fallback: number, valid: (n: number) => boolean, what: string): number => {
    const text = env[name];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === '' || !valid(value)) throw new ConfigError(`${name} must be ${what}, got '${text}'`);
    return value;
  };
  const metrics = nonEmpty(env, 'FLEETSTREAM_MODEL_METRICS', 'temperatureC')
    .split(',')
    .map((m) => m.trim());
  if (metrics.some((m) => m === '')) throw new ConfigError('FLEETSTREAM_MODEL_METRICS has an empty name');
  return {
    endpointName: nonEmpty(env, 'FLEETSTREAM_MODEL_ENDPOINT', ''),
    metrics,
    shingleSize: number(
      'FLEETSTREAM_MODEL_SHINGLE_SIZE',
      8,
      (n) => Number.isInteger(n) && n >= 1,
      'an integer ≥ 1',
    ),
    sampleRate: number('FLEETSTREAM_MODEL_SAMPLE_RATE', 0.01, (n) => n >= 0 && n <= 1, 'in [0, 1]'),
    timeoutMs: number('FLEETSTREAM_MODEL_TIMEOUT_MS', 1000, (n) => n > 0, '> 0'),
  };
}

export function clientsFor(config: RuntimeConfig): AwsClients {
  return createAwsClients({ region: config.region, endpoints: config.endpoints });
}

export interface RuntimeParts {
  readonly sinks: Sinks;
  readonly snapshots: S3SnapshotStore;
  /**
   * One model review per shard (its shingles and calibration follow the shard's devices), when a model
   * is configured. Processors must then keep their scored readings (`keepScoredReadings`).
   */
  readonly createStage?: () => ModelReview;
}

export async function createRuntimeParts(
  config: RuntimeConfig,
  clients: AwsClients,
  options: { readonly inlineSnapshotMaxBytes?: number } = {},
): Promise<RuntimeParts> {
  const dlqUrl =
    config.dlqUrl ??
    (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: DEFAULT_NAMES.dlq }))).QueueUrl;
  if (dlqUrl === undefined) throw new ConfigError('DLQ URL could not be resolved');
  return {
    sinks: {
      results: createFirehoseSink({
        client: clients.firehose,
        deliveryStreamName: config.resultsDeliveryStream,
      }),
      archive: createFirehoseSink({ client: clients.firehose, deliveryStreamName: config.rawDeliveryStream }),
      dlq: createSqsDlqSink({ client: clients.sqs, queueUrl: dlqUrl }),
      ...(config.correctionsQueueUrl === undefined
        ? {}
        : { corrections: createSqsCorrectionSink(clients.sqs, config.correctionsQueueUrl) }),
    },
    ...(config.model === undefined ? {} : { createStage: modelStageFactory(config.model, clients) }),
    snapshots: createS3SnapshotStore({
      client: clients.s3,
      bucket: config.bucket,
      streamName: config.stateScope ?? config.streamName,
      ...(options.inlineSnapshotMaxBytes === undefined
        ? {}
        : { inlineMaxBytes: options.inlineSnapshotMaxBytes }),
    }),
  };
}

function modelStageFactory(model: ModelRuntimeConfig, clients: AwsClients): () => ModelReview {
  // Alarms are candidates from the in-stream threshold on, and the combined score is judged against the
  // same threshold, so with the model away nothing changes.
  const threshold = DEFAULT_ANOMALY_CONFIG.threshold;
  return () =>
    createModelReview({
      client: createModelClient({
        runtime: clients.sagemakerRuntime,
        endpointName: model.endpointName,
        gate: threshold,
        sampleRate: model.sampleRate,
        timeoutMs: model.timeoutMs,
      }),
      combiner: createAnomalyCombiner({ threshold }),
      metrics: model.metrics,
      shingleSize: model.shingleSize,
    });
}
