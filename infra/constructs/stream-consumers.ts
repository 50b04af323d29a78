/**
 * The Kinesis consumers, in one of two shapes:
 * - `fargate` (default): an ECS service running the official KCL MultiLangDaemon (Java) with our record
 *   processor as its child process. Leases and checkpoints live in the lease table; tasks scale on the
 *   stream's iterator age.
 * - `lambda`: a Kinesis event source mapping. Lambda keeps per-partition-key (per-device) order even with
 *   a parallelization factor above 1; the handler reports the first failed record of a device as its
 *   batch item failure so Lambda retries from there.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as applicationautoscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import {
  KCL_APPLICATION_NAME,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  RUNTIME_DIMENSION,
  RUNTIME_ENV,
  STATE_PREFIX,
} from '../names.ts';
import type { ModelEndpoint } from './model-endpoint.ts';
import { NodeFunction } from './node-function.ts';
import { secureQueue } from './secure.ts';

export type ConsumerRuntime = 'fargate' | 'lambda';

/** Where Kinesis consumers start when no checkpoint exists. */
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST';

/** The repository root: the Docker build context and the base of the default Lambda entry. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** A pipeline metric as the given consumer runtime publishes it (EMF, `Runtime` dimension). */
export function runtimeMetric(
  metricName: string,
  runtime: ConsumerRuntime,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { Runtime: RUNTIME_DIMENSION[runtime] },
    label,
    statistic: 'Sum',
    period: Duration.minutes(1),
  });
}

/** The event source mapping's starting position: AT_TIMESTAMP takes epoch seconds (fractions allowed). */
function lambdaStartingPosition(props: StreamConsumersProps): {
  startingPosition: lambda.StartingPosition;
  startingPositionTimestamp?: number;
} {
  if (props.startAt) {
    return {
      startingPosition: lambda.StartingPosition.AT_TIMESTAMP,
      startingPositionTimestamp: props.startAt.getTime() / 1000,
    };
  }
  return {
    startingPosition:
      (props.initialPosition ?? 'TRIM_HORIZON') === 'TRIM_HORIZON'
        ? lambda.StartingPosition.TRIM_HORIZON
        : lambda.StartingPosition.LATEST,
  };
}

export interface FargateConsumerOptions {
  /** @default a new VPC with two AZs, one NAT gateway and flow logs */
  readonly vpc?: ec2.IVpc;
  /**
   * Tasks when the stream is idle. One task can hold every lease; more only add failover.
   * @default 1
   */
  readonly minTasks?: number;
  /**
   * Upper bound for scaling; tasks beyond the shard count hold no lease and sit idle.
   * @default 4
   */
  readonly maxTasks?: number;
  /**
   * Scale out when the stream's maximum iterator age exceeds this, scale in below a tenth of it.
   * @default Duration.minutes(1)
   */
  readonly scaleOutIteratorAge?: Duration;
  /**
   * Task CPU units. The JVM daemon and the Node child share them.
   * @default 1024
   */
  readonly cpu?: number;
  /** @default 2048 (MiB) */
  readonly memoryMiB?: number;
  /**
   * Docker build context holding the `Dockerfile`.
   * @default the repository root
   */
  readonly dockerContext?: string;
  /** @default a new cluster with Container Insights in `vpc` */
  readonly cluster?: ecs.ICluster;
  /**
   * Scale between `minTasks` and `maxTasks` on the stream's iterator age. Off for a replay: that metric
   * is the stream's, the maximum over every application reading it, so it cannot steer one of them.
   * @default true
   */
  readonly autoScale?: boolean;
}

export interface LambdaConsumerOptions {
  /**
   * Handler module exporting `handler`.
   * @default `consumers/runtimes/lambda.ts` in the repository
   */
  readonly entry?: string;
  /** @default 500 */
  readonly batchSize?: number;
  /** @default Duration.seconds(1) */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed batch (after bisecting) before its metadata goes to the on-failure queue.
   * Bounded so one poison record cannot stall its shard for the whole retention period.
   * @default 3
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are skipped to the on-failure queue. Kept below the stream's retention so the
   * queue's shard/sequence ranges still point at readable records for a replay. `'unbounded'` is for a
   * replay itself, which reads old records on purpose (Lambda then never skips by age).
   * @default Duration.hours(1)
   */
  readonly maxRecordAge?: Duration | 'unbounded';
  /** @default `fleetstream-telemetry-consumer-failures` */
  readonly onFailureQueueName?: string;
  /** @default 1024 (MiB) */
  readonly memorySize?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
}

export interface StreamConsumersProps {
  /** @default 'fargate' */
  readonly runtime?: ConsumerRuntime;
  readonly stream: kinesis.IStream;
  readonly encryptionKey: kms.IKey;
  readonly resultsDeliveryStream: firehose.IDeliveryStream;
  readonly rawDeliveryStream: firehose.IDeliveryStream;
  /** Where the consumers keep per-shard state snapshots (under `state/`). */
  readonly stateBucket: s3.IBucket;
  /** Rejected records with their reason code. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Correction requests for the correction handler. @default none: requests stay in the results */
  readonly correctionsQueue?: sqs.IQueue;
  /** @default none: records are scored by the in-stream detector only */
  readonly modelEndpoint?: ModelEndpoint;
  /**
   * Where a consumer without a checkpoint starts. TRIM_HORIZON processes everything still in the stream.
   * @default 'TRIM_HORIZON'
   */
  readonly initialPosition?: InitialPosition;
  /**
   * Start without a checkpoint at the first record that arrived at or after this instant (AT_TIMESTAMP)
   * instead of `initialPosition`. The KCL takes whole seconds: the instant is rounded down, which can only
   * add records before it, never skip one.
   * @default none: `initialPosition` decides
   */
  readonly startAt?: Date;
  /**
   * Fargate: the KCL application name, which is also the lease table's name and the namespace of the
   * daemon's own metrics.
   * @default KCL_APPLICATION_NAME
   */
  readonly applicationName?: string;
  /**
   * Keys the state snapshots under `state/<stateScope>/` and grants only that prefix.
   * @default the stream name, with the whole `state/` prefix granted (the live consumer)
   */
  readonly stateScope?: string;
  /** @default {} */
  readonly fargate?: FargateConsumerOptions;
  /** @default {} */
  readonly lambda?: LambdaConsumerOptions;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class StreamConsumers extends Construct {
  readonly runtime: ConsumerRuntime;
  /** Fargate only: where the tasks run (a replay runs beside the live consumer in the same ones). */
  readonly vpc?: ec2.IVpc;
  readonly cluster?: ecs.ICluster;
  /** Fargate only: the MultiLangDaemon's lease table (leases and checkpoints, one item per shard). */
  readonly leaseTable?: dynamodb.Table;
  /** How far behind the consumers are; the main health signal of a stream consumer. */
  readonly iteratorAgeMetric: cloudwatch.IMetric;
  /** Failed work: Lambda errors, or MultiLang sink deliveries being retried. */
  readonly errorMetric: cloudwatch.IMetric;
  readonly service?: ecs.FargateService;
  readonly function?: nodejs.NodejsFunction;
  /** Lambda only: batches Lambda gave up on (metadata: shard, sequence range). */
  readonly onFailureQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: StreamConsumersProps) {
    super(scope, id);
    this.runtime = props.runtime ?? 'fargate';

    const environment: Record<string, string> = {
      [RUNTIME_ENV.streamName]: props.stream.streamName,
      [RUNTIME_ENV.stateBucket]: props.stateBucket.bucketName,
      [RUNTIME_ENV.resultsDeliveryStream]: props.resultsDeliveryStream.deliveryStreamName,
      [RUNTIME_ENV.rawDeliveryStream]: props.rawDeliveryStream.deliveryStreamName,
      [RUNTIME_ENV.dlqUrl]: props.deadLetterQueue.queueUrl,
    };
    if (props.correctionsQueue) {
      environment[RUNTIME_ENV.correctionsQueueUrl] = props.correctionsQueue.queueUrl;
    }
    if (props.modelEndpoint) environment[RUNTIME_ENV.modelEndpoint] = props.modelEndpoint.endpointName;
    if (props.stateScope !== undefined) environment[RUNTIME_ENV.stateScope] = props.stateScope;

    let grantee: iam.IGrantable;
    if (this.runtime === 'fargate') {
      this.leaseTable = new dynamodb.Table(this, 'LeaseTable', {
        // Created here rather than by the daemon so it has point-in-time recovery and the data key;
        // the daemon finds it by name (= application name) and uses it as is.
        tableName: props.applicationName ?? KCL_APPLICATION_NAME,
        // The KCL lease schema: one item per shard, keyed by `leaseKey`.
        partitionKey: { name: 'leaseKey', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: props.encryptionKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      const options = props.fargate ?? {};
      this.vpc = options.cluster?.vpc ?? options.vpc ?? this.defaultVpc();
      this.cluster =
        options.cluster ??
        new ecs.Cluster(this, 'Cluster', {
          vpc: this.vpc,
          containerInsightsV2: ecs.ContainerInsights.ENABLED,
        });
      this.service = this.fargateService(props, environment, this.leaseTable, this.cluster);
      grantee = this.service.taskDefinition.taskRole;
      this.leaseTable.grantReadWriteData(grantee);
      this.errorMetric = runtimeMetric(METRIC_NAMES.deliveryRetries, 'fargate');
    } else {
      this.onFailureQueue = secureQueue(this, 'OnFailureQueue', {
        encryptionKey: props.encryptionKey,
        queueName: props.lambda?.onFailureQueueName ?? `${DEFAULT_NAMES.stream}-consumer-failures`,
      });
      this.function = this.lambdaConsumer(props, environment, this.onFailureQueue);
      grantee = this.function;
      this.errorMetric = this.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(1) });
    }

    props.stateBucket.grantReadWrite(
      grantee,
      props.stateScope === undefined ? `${STATE_PREFIX}*` : `${STATE_PREFIX}${props.stateScope}/*`,
    );
    props.resultsDeliveryStream.grantPutRecords(grantee);
    props.rawDeliveryStream.grantPutRecords(grantee);
    props.deadLetterQueue.grantSendMessages(grantee);
    props.correctionsQueue?.grantSendMessages(grantee);
    props.modelEndpoint?.grantInvoke(grantee);

    this.iteratorAgeMetric =
      this.function?.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }) ??
      props.stream.metricGetRecordsIteratorAgeMilliseconds({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      });
  }

  private fargateService(
    props: StreamConsumersProps,
    environment: Record<string, string>,
    leaseTable: dynamodb.ITable,
    cluster: ecs.ICluster,
  ): ecs.FargateService {
    const options = props.fargate ?? {};
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: options.cpu ?? 1024,
      memoryLimitMiB: options.memoryMiB ?? 2048,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = new logs.LogGroup(this, 'ConsumerLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const container = taskDefinition.addContainer('kcl', {
      image: ecs.ContainerImage.fromAsset(options.dockerContext ?? REPO_ROOT, {
        platform: Platform.LINUX_AMD64,
      }),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'kcl' }),
      environment: {
        ...environment,
        // Read by infra/container/kcl-entrypoint.mjs into the daemon's .properties file.
        KCL_STREAM_NAME: props.stream.streamName,
        KCL_APPLICATION_NAME: leaseTable.tableName,
        KCL_INITIAL_POSITION: props.startAt ? 'AT_TIMESTAMP' : (props.initialPosition ?? 'TRIM_HORIZON'),
        KCL_RETRIEVAL_MODE: 'POLLING',
        // Rendered by kcl-properties.mjs as the daemon's `initialPositionInStreamExtended` (epoch seconds).
        ...(props.startAt ? { KCL_INITIAL_TIMESTAMP: props.startAt.toISOString() } : {}),
      },
      // The daemon checkpoints after each processed batch; a graceful stop lets the child flush first.
      stopTimeout: Duration.seconds(60),
      // Read-only image; the rendered .properties file and the JVM's scratch files go to /tmp only.
      readonlyRootFilesystem: true,
    });
    taskDefinition.addVolume({ name: 'tmp' });
    container.addMountPoints({ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false });

    const service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: options.minTasks ?? 1,
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      circuitBreaker: { rollback: true },
      // Start the new task before stopping the old one: leases move over instead of pausing the shard.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });

    if (options.autoScale === false) return this.withDaemonPermissions(props, taskDefinition, service);
    const scaling = service.autoScaleTaskCount({
      minCapacity: options.minTasks ?? 1,
      maxCapacity: options.maxTasks ?? 4,
    });
    const threshold = (options.scaleOutIteratorAge ?? Duration.minutes(1)).toMilliseconds();
    scaling.scaleOnMetric('ScaleOnIteratorAge', {
      metric: props.stream.metricGetRecordsIteratorAgeMilliseconds({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      scalingSteps: [
        { upper: threshold / 10, change: -1 },
        { lower: threshold, change: +1 },
        { lower: threshold * 5, change: +2 },
      ],
      adjustmentType: applicationautoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.minutes(3),
    });
    return this.withDaemonPermissions(props, taskDefinition, service);
  }

  private withDaemonPermissions(
    props: StreamConsumersProps,
    taskDefinition: ecs.TaskDefinition,
    service: ecs.FargateService,
  ): ecs.FargateService {
    props.stream.grantRead(taskDefinition.taskRole);
    // The KCL publishes its own lease and shard metrics; PutMetricData has no resource-level
    // permissions, so the namespace condition is the only possible narrowing.
    taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'cloudwatch:namespace': props.applicationName ?? KCL_APPLICATION_NAME },
        },
      }),
    );
    return service;
  }

  private defaultVpc(): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'consumers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    vpc.addFlowLog('FlowLog', { trafficType: ec2.FlowLogTrafficType.REJECT });
    return vpc;
  }

  private lambdaConsumer(
    props: StreamConsumersProps,
    environment: Record<string, string>,
    onFailureQueue: sqs.IQueue,
  ): nodejs.NodejsFunction {
    const options = props.lambda ?? {};
    const fn = new NodeFunction(this, 'Function', {
      entry: options.entry ?? path.join(REPO_ROOT, 'consumers', 'runtimes', 'lambda.ts'),
      encryptionKey: props.encryptionKey,
      environment,
      memorySize: options.memorySize ?? 1024,
      timeout: options.timeout ?? Duration.minutes(1),
    }).function;

    const maxRecordAge = options.maxRecordAge ?? Duration.hours(1);
    fn.addEventSource(
      new lambdaEventSources.KinesisEventSource(props.stream, {
        ...lambdaStartingPosition(props),
        batchSize: options.batchSize ?? 500,
        maxBatchingWindow: options.maxBatchingWindow ?? Duration.seconds(1),
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: options.retryAttempts ?? 3,
        // Absent, the mapping's MaximumRecordAgeInSeconds is -1: no record is skipped for its age.
        maxRecordAge: maxRecordAge === 'unbounded' ? undefined : maxRecordAge,
        // One batch per shard at a time: the handler carries each shard's device state from one
        // invocation to the next (consumers/runtimes/lambda.ts), which a factor above 1 would split.
        parallelizationFactor: 1,
        onFailure: new lambdaEventSources.SqsDlq(onFailureQueue),
      }),
    );
    return fn;
  }
}
