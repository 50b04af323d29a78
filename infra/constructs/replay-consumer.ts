/**
 * A replay beside the live consumer, the AWS counterpart of `fleetstream replay` (pipeline/replay.ts): a
 * second consumer application that rebuilds results from the stream with fresh state, starting at
 * TRIM_HORIZON or AT_TIMESTAMP. Everything it keeps is its own and named after the replay id (infra/names.ts
 * `replayNames`): application and lease table, state snapshots, rejected-records queue, copy of the accepted
 * events. Its results go next to the live ones (`replay/<id>/results/`) or into them (same ids; readers keep
 * one per id). It is never granted the live lease table or the live state, and it sends no correction
 * requests: the live run sent them already.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { replayNames } from '../names.ts';
import type { ModelEndpoint } from './model-endpoint.ts';
import { type DeliveryBuffering, partitionedDelivery } from './partitioned-delivery.ts';
import { secureQueue } from './secure.ts';
import {
  type ConsumerRuntime,
  type FargateConsumerOptions,
  type LambdaConsumerOptions,
  StreamConsumers,
} from './stream-consumers.ts';

/** Where a replay starts: everything retained, or the first record that arrived at or after `at`. */
export type ReplayStart =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AT_TIMESTAMP'; readonly at: Date };

/** `replay`: a delivery stream of its own into `replay/<id>/results/`. `results`: the live results. */
export type ReplayOutput = 'replay' | 'results';

/**
 * Lower-case letters, digits and inner hyphens, at most 32: the id goes into a DynamoDB table, Firehose
 * delivery stream (at most 64 characters) and SQS queue (at most 80) name and into S3 keys.
 */
const REPLAY_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Throws ConfigError unless `id` can name a replay's resources. */
export function validateReplayId(id: string, what = 'replay id'): string {
  if (!REPLAY_ID.test(id)) {
    throw new ConfigError(
      `${what} must be 1–32 lower-case letters, digits and inner hyphens (e.g. 2026-11-23-fix), got '${id}'`,
    );
  }
  return id;
}

export interface ReplayOptions {
  /** Names everything the replay owns; see `validateReplayId`. */
  readonly id: string;
  /** @default { type: 'TRIM_HORIZON' } */
  readonly from?: ReplayStart;
  /** @default 'replay' */
  readonly output?: ReplayOutput;
  /**
   * Fargate only: tasks of the replay service, fixed (the stream's iterator age also counts the live
   * consumer, so it cannot steer the replay's scaling). One task can hold every lease.
   * @default 1
   */
  readonly tasks?: number;
}

export interface ReplayConsumerProps extends ReplayOptions {
  /** The live consumer's runtime: a replay runs the same code the same way. @default 'fargate' */
  readonly runtime?: ConsumerRuntime;
  readonly stream: kinesis.IStream;
  readonly encryptionKey: kms.IKey;
  /** Receives `replay/<id>/results/` when `output` is `replay`. */
  readonly resultsBucket: s3.IBucket;
  /** The live results delivery stream, written to when `output` is `results`. */
  readonly liveResultsDeliveryStream: firehose.IDeliveryStream;
  /** Receives the replay's copy of the accepted events under `replay/<id>/raw/`, apart from the archive. */
  readonly rawBucket: s3.IBucket;
  /** The replay's snapshots go under `state/<stream>/replay-<id>/` here, the only prefix it is granted. */
  readonly stateBucket: s3.IBucket;
  /** @default none: the in-stream detector decides alone */
  readonly modelEndpoint?: ModelEndpoint;
  /** The live consumer's cluster; the replay's tasks run in it. @default a new cluster and VPC */
  readonly cluster?: ecs.ICluster;
  /** The live consumer's options (size, entry, batching); scaling and record age are the replay's own. */
  readonly fargate?: FargateConsumerOptions;
  /** @default {} */
  readonly lambda?: LambdaConsumerOptions;
  /** @default { interval: 300 s, size: 128 MiB } */
  readonly buffering?: DeliveryBuffering;
  /**
   * Of the replay's lease table. DESTROY because its leases are worthless once the replay is removed, and a
   * retained table would keep the same replay id from being deployed again (the name is taken).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class ReplayConsumer extends Construct {
  readonly replayId: string;
  readonly names: ReturnType<typeof replayNames>;
  readonly from: ReplayStart;
  readonly output: ReplayOutput;
  readonly consumers: StreamConsumers;
  /** Output `replay` only: the delivery stream into `replay/<id>/results/`. */
  readonly resultsDeliveryStream?: firehose.DeliveryStream;
  /** The replay's copy of the accepted events, into `replay/<id>/raw/` of the raw bucket. */
  readonly rawDeliveryStream: firehose.DeliveryStream;
  /** The replay's rejected records (the live run dead-lettered them already), for inspection. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ReplayConsumerProps) {
    super(scope, id);
    this.replayId = validateReplayId(props.id);
    this.names = replayNames(this.replayId);
    this.from = props.from ?? { type: 'TRIM_HORIZON' };
    if (this.from.type === 'AT_TIMESTAMP' && Number.isNaN(this.from.at.getTime())) {
      throw new ConfigError(`replay ${this.replayId}: AT_TIMESTAMP needs a valid instant`);
    }
    this.output = props.output ?? 'replay';
    const tasks = props.tasks ?? 1;
    if (!Number.isInteger(tasks) || tasks < 1) {
      throw new ConfigError(`replay ${this.replayId}: tasks must be an integer ≥ 1, got ${tasks}`);
    }
    const key = props.encryptionKey;

    if (this.output === 'replay') {
      this.resultsDeliveryStream = partitionedDelivery(this, 'ResultsDelivery', {
        name: this.names.resultsDeliveryStream,
        bucket: props.resultsBucket,
        prefix: this.names.resultsPrefix,
        errorPrefix: this.names.errorsPrefix,
        key,
        buffering: props.buffering,
      });
    }
    // The runtime always archives what it accepts; a replay's copy must not double the live archive.
    this.rawDeliveryStream = partitionedDelivery(this, 'RawDelivery', {
      name: this.names.rawDeliveryStream,
      bucket: props.rawBucket,
      prefix: this.names.rawPrefix,
      errorPrefix: this.names.errorsPrefix,
      key,
      buffering: props.buffering,
    });
    // Nothing consumes it: like the local replay's count by reason, it is there to be looked at.
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', {
      encryptionKey: key,
      queueName: this.names.deadLetterQueue,
    });

    this.consumers = new StreamConsumers(this, 'Consumers', {
      runtime: props.runtime,
      stream: props.stream,
      encryptionKey: key,
      resultsDeliveryStream: this.resultsDeliveryStream ?? props.liveResultsDeliveryStream,
      rawDeliveryStream: this.rawDeliveryStream,
      stateBucket: props.stateBucket,
      stateScope: this.names.stateScope,
      deadLetterQueue: this.deadLetterQueue,
      modelEndpoint: props.modelEndpoint,
      applicationName: this.names.application,
      initialPosition: 'TRIM_HORIZON',
      startAt: this.from.type === 'AT_TIMESTAMP' ? this.from.at : undefined,
      fargate: { ...props.fargate, cluster: props.cluster, autoScale: false, minTasks: tasks },
      lambda: {
        ...props.lambda,
        onFailureQueueName: this.names.onFailureQueue,
        // A replay reads old records on purpose; an age limit would skip them to the on-failure queue.
        maxRecordAge: 'unbounded',
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }

  /** Where the rebuilt results land (the live prefix for output `results`). */
  get resultsPrefix(): string {
    return this.output === 'replay' ? `replay/${this.replayId}/results/` : 'results/';
  }
}
