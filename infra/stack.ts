/**
 * The whole pipeline in one stack: ingest → consumers → lake, corrections, the optional model endpoint,
 * and operations. One stack because every part shares the data key and the names in the contract.
 */
import { CfnOutput, type Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { acknowledgeFindings } from './acknowledgements.ts';
import { Corrections } from './constructs/corrections.ts';
import { ModelEndpoint } from './constructs/model-endpoint.ts';
import { Operations } from './constructs/operations.ts';
import { ReplayConsumer, type ReplayOptions } from './constructs/replay-consumer.ts';
import { ResultsLake } from './constructs/results-lake.ts';
import {
  type ConsumerRuntime,
  type FargateConsumerOptions,
  type InitialPosition,
  type LambdaConsumerOptions,
  StreamConsumers,
} from './constructs/stream-consumers.ts';
import { type StreamCapacity, TelemetryIngest } from './constructs/telemetry-ingest.ts';

export interface ModelOptions {
  /** Inference image built from `models/serving`. */
  readonly imageUri: string;
  /** `s3://bucket/key/model.tar.gz` */
  readonly modelDataUrl: string;
  /** @default 'ml.m5.large' */
  readonly instanceType?: string;
}

export interface FleetstreamStackProps extends StackProps {
  /** @default 'fargate' */
  readonly consumer?: ConsumerRuntime;
  /** @default { mode: 'on-demand' } */
  readonly streamCapacity?: StreamCapacity;
  /** @default Duration.days(7) */
  readonly streamRetention?: Duration;
  /** @default 'TRIM_HORIZON' */
  readonly initialPosition?: InitialPosition;
  /** @default none — no SageMaker resources */
  readonly model?: ModelOptions;
  /** @default none — subscribe to the alarm topic by hand */
  readonly alarmEmail?: string;
  /**
   * DESTROY deletes tables, the stream and (empty) buckets with the stack; for test environments only.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default {} */
  readonly fargate?: FargateConsumerOptions;
  /** @default {} */
  readonly lambda?: LambdaConsumerOptions;
  /**
   * A replay consumer beside the live one (same runtime), with its own application, lease table, state and
   * output; remove it by deploying without it.
   * @default none: the live consumer only
   */
  readonly replay?: ReplayOptions;
  /**
   * Module (exporting `handler`) of the correction handler on the request queue.
   * @default anomaly/correction/lambda/request-handler.ts in the repository
   */
  readonly correctionHandlerEntry?: string;
  /**
   * Module (exporting `handler`) of the DLQ processor on the correction DLQ.
   * @default anomaly/correction/lambda/dlq-processor.ts in the repository
   */
  readonly dlqProcessorEntry?: string;
}

export class FleetstreamStack extends Stack {
  readonly ingest: TelemetryIngest;
  readonly lake: ResultsLake;
  readonly corrections: Corrections;
  readonly consumers: StreamConsumers;
  readonly replay?: ReplayConsumer;
  readonly model?: ModelEndpoint;
  readonly operations: Operations;

  constructor(scope: Construct, id: string, props: FleetstreamStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const dataKey = new kms.Key(this, 'DataKey', {
      enableKeyRotation: true,
      description: 'fleetstream data at rest: stream, tables, buckets, delivery streams, queues, logs',
      removalPolicy,
    });
    // CloudWatch Logs encrypts the pipeline's log groups with the data key, and only log groups of this
    // account and region (the encryption context names the log group).
    dataKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*`,
          },
        },
      }),
    );

    this.ingest = new TelemetryIngest(this, 'Ingest', {
      encryptionKey: dataKey,
      capacity: props.streamCapacity,
      retention: props.streamRetention,
      removalPolicy,
    });
    this.lake = new ResultsLake(this, 'Lake', { encryptionKey: dataKey, removalPolicy });
    this.corrections = new Corrections(this, 'Corrections', {
      encryptionKey: dataKey,
      resultsBucket: this.lake.resultsBucket,
      rawBucket: this.lake.rawBucket,
      failuresBucket: this.lake.failuresBucket,
      correctionHandlerEntry: props.correctionHandlerEntry,
      dlqProcessorEntry: props.dlqProcessorEntry,
      removalPolicy,
    });
    if (props.model) {
      this.model = new ModelEndpoint(this, 'Model', { ...props.model, encryptionKey: dataKey });
    }
    this.consumers = new StreamConsumers(this, 'Consumers', {
      runtime: props.consumer,
      stream: this.ingest.stream,
      encryptionKey: dataKey,
      resultsDeliveryStream: this.lake.resultsDeliveryStream,
      rawDeliveryStream: this.lake.rawDeliveryStream,
      stateBucket: this.lake.stateBucket,
      deadLetterQueue: this.corrections.deadLetterQueue,
      correctionsQueue: this.corrections.correctionsQueue,
      modelEndpoint: this.model,
      initialPosition: props.initialPosition,
      fargate: props.fargate,
      lambda: props.lambda,
      removalPolicy,
    });
    if (props.replay) {
      this.replay = new ReplayConsumer(this, 'Replay', {
        ...props.replay,
        runtime: this.consumers.runtime,
        stream: this.ingest.stream,
        encryptionKey: dataKey,
        resultsBucket: this.lake.resultsBucket,
        liveResultsDeliveryStream: this.lake.resultsDeliveryStream,
        rawBucket: this.lake.rawBucket,
        stateBucket: this.lake.stateBucket,
        modelEndpoint: this.model,
        cluster: this.consumers.cluster,
        fargate: props.fargate,
        lambda: props.lambda,
      });
    }
    const replay = this.replay;
    this.operations = new Operations(this, 'Operations', {
      stream: this.ingest.stream,
      consumerRuntime: this.consumers.runtime,
      iteratorAge: this.consumers.iteratorAgeMetric,
      consumerErrors: this.consumers.errorMetric,
      deliveryStreams: [
        this.lake.resultsDeliveryStream,
        this.lake.rawDeliveryStream,
        ...(replay?.resultsDeliveryStream ? [replay.resultsDeliveryStream] : []),
        ...(replay ? [replay.rawDeliveryStream] : []),
      ],
      deadLetterQueue: this.corrections.deadLetterQueue,
      correctionDeadLetterQueue: this.corrections.correctionDeadLetterQueue,
      mustStayEmpty: [
        this.ingest.targetDeadLetterQueue,
        this.corrections.poisonQueue,
        this.corrections.correctionPoisonQueue,
        ...(this.consumers.onFailureQueue ? [this.consumers.onFailureQueue] : []),
        ...(replay?.consumers.onFailureQueue ? [replay.consumers.onFailureQueue] : []),
      ],
      alarmEmail: props.alarmEmail,
      modelReview: this.model !== undefined,
    });

    new CfnOutput(this, 'EventBusName', { value: this.ingest.bus.eventBusName });
    new CfnOutput(this, 'StreamName', { value: this.ingest.stream.streamName });
    new CfnOutput(this, 'ResultsBucket', { value: this.lake.resultsBucket.bucketName });
    new CfnOutput(this, 'RawBucket', { value: this.lake.rawBucket.bucketName });
    new CfnOutput(this, 'FailuresBucket', { value: this.lake.failuresBucket.bucketName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.corrections.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'CorrectionsQueueUrl', { value: this.corrections.correctionsQueue.queueUrl });
    new CfnOutput(this, 'CorrectionDeadLetterQueueUrl', {
      value: this.corrections.correctionDeadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.topic.topicArn });
    if (replay) {
      new CfnOutput(this, 'ReplayApplication', {
        value: replay.consumers.leaseTable?.tableName ?? replay.consumers.function?.functionName ?? '',
      });
      new CfnOutput(this, 'ReplayResults', {
        value: `s3://${this.lake.resultsBucket.bucketName}/${replay.resultsPrefix}`,
      });
      new CfnOutput(this, 'ReplayDeadLetterQueueUrl', { value: replay.deadLetterQueue.queueUrl });
    }

    acknowledgeFindings(this);
  }
}
