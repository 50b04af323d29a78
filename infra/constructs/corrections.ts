/**
 * The correction side of the pipeline. Two separate dead-letter paths, so an operator can tell "bad input"
 * from "a result that could not heal itself":
 * - rejected records: the consumers' DLQ (`fleetstream-dlq`, with reason codes) and its poison queue;
 * - corrections: the request queue (`fleetstream-corrections`) that the consumers send to and the
 *   correction handler consumes, the correction DLQ (`fleetstream-corrections-dlq`) that the handler
 *   dead-letters to and the DLQ processor consumes, and a poison queue behind it for messages the DLQ
 *   processor itself cannot settle.
 * Plus the correction history table (at most one automatic correction per item, enforced by a
 * conditional write on `id`) and the two functions (anomaly/correction/lambda/), deployed by default.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CORRECTION_NAMES } from '../../anomaly/correction/names.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { RUNTIME_ENV } from '../names.ts';
import { NodeFunction } from './node-function.ts';
import { secureQueue } from './secure.ts';
import { REPO_ROOT } from './stream-consumers.ts';

/** Key prefixes the correction functions touch (anomaly/correction/s3-store.ts routes by them). */
const PREFIX = { results: 'results/*', raw: 'raw/*', failures: 'failures/*' } as const;

export interface CorrectionsProps {
  readonly encryptionKey: kms.IKey;
  /** Results: old versions are read and corrected versions written (`results/`). */
  readonly resultsBucket: s3.IBucket;
  /** The raw archive the functions recalculate from (`raw/`, read only). */
  readonly rawBucket: s3.IBucket;
  /** Where the DLQ processor stores what needs a person (`failures/`, write only). */
  readonly failuresBucket: s3.IBucket;
  /**
   * Module (exporting `handler`) of the correction handler, fed by the request queue.
   * @default anomaly/correction/lambda/request-handler.ts in the repository
   */
  readonly correctionHandlerEntry?: string;
  /**
   * Module (exporting `handler`) of the DLQ processor, fed by the correction DLQ.
   * @default anomaly/correction/lambda/dlq-processor.ts in the repository
   */
  readonly dlqProcessorEntry?: string;
  /**
   * Receives before SQS itself moves a message on: a correction request to the correction DLQ, a
   * rejected record to its poison queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Attempts the DLQ processor gives a dead letter (with exponential backoff from 30 s) before it stores
   * it as a failure. The correction DLQ moves a message to its poison queue only after this many receives
   * plus `maxReceiveCount` more, so receives whose invocation failed do not eat into the attempts.
   * @default 5
   */
  readonly deadLetterAttempts?: number;
  /**
   * Timeout of the two functions; the correction queues' visibility timeout is six times this, as Lambda
   * advises for SQS event sources, so a message is not redelivered while a retry of its batch is running.
   * A correction reads up to an hour of the raw archive before its window.
   * @default Duration.minutes(1)
   */
  readonly functionTimeout?: Duration;
  /** @default 1024 (MiB) */
  readonly memorySize?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class Corrections extends Construct {
  readonly correctionTable: dynamodb.Table;
  /** Rejected records, each with its reason code (`fleetstream-dlq`). */
  readonly deadLetterQueue: sqs.Queue;
  /** Rejected records that were received too often from the DLQ: a person must look. */
  readonly poisonQueue: sqs.Queue;
  /** Correction requests (`fleetstream-corrections`): the consumers and the verifier send here. */
  readonly correctionsQueue: sqs.Queue;
  /** Requests the handler could not complete, each with a reason (`fleetstream-corrections-dlq`). */
  readonly correctionDeadLetterQueue: sqs.Queue;
  /** Dead letters the DLQ processor itself could not settle: a person must look. */
  readonly correctionPoisonQueue: sqs.Queue;
  readonly correctionHandler: nodejs.NodejsFunction;
  readonly dlqProcessor: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: CorrectionsProps) {
    super(scope, id);
    const key = props.encryptionKey;
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const deadLetterAttempts = props.deadLetterAttempts ?? 5;
    const timeout = props.functionTimeout ?? Duration.minutes(1);
    const visibilityTimeout = Duration.seconds(timeout.toSeconds() * 6);

    this.correctionTable = new dynamodb.Table(this, 'CorrectionTable', {
      tableName: CORRECTION_NAMES.table,
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.poisonQueue = secureQueue(this, 'PoisonQueue', {
      encryptionKey: key,
      queueName: `${DEFAULT_NAMES.dlq}-poison`,
    });
    // Read by people and tools, not by a function: the default visibility timeout suits them.
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', {
      encryptionKey: key,
      queueName: DEFAULT_NAMES.dlq,
      deadLetterQueue: { queue: this.poisonQueue, maxReceiveCount },
    });

    this.correctionPoisonQueue = secureQueue(this, 'CorrectionPoisonQueue', {
      encryptionKey: key,
      queueName: `${CORRECTION_NAMES.deadLetterQueue}-poison`,
    });
    this.correctionDeadLetterQueue = secureQueue(this, 'CorrectionDeadLetterQueue', {
      encryptionKey: key,
      queueName: CORRECTION_NAMES.deadLetterQueue,
      visibilityTimeout,
      deadLetterQueue: {
        queue: this.correctionPoisonQueue,
        maxReceiveCount: deadLetterAttempts + maxReceiveCount,
      },
    });
    this.correctionsQueue = secureQueue(this, 'CorrectionsQueue', {
      encryptionKey: key,
      queueName: CORRECTION_NAMES.queue,
      visibilityTimeout,
      // A request that crashes every handler still ends in the correction DLQ, never circles forever.
      deadLetterQueue: { queue: this.correctionDeadLetterQueue, maxReceiveCount },
    });

    const environment = {
      [RUNTIME_ENV.correctionsQueueUrl]: this.correctionsQueue.queueUrl,
      [RUNTIME_ENV.correctionsDlqUrl]: this.correctionDeadLetterQueue.queueUrl,
      [RUNTIME_ENV.correctionTable]: this.correctionTable.tableName,
      [RUNTIME_ENV.resultsBucket]: props.resultsBucket.bucketName,
      [RUNTIME_ENV.rawBucket]: props.rawBucket.bucketName,
      [RUNTIME_ENV.failuresBucket]: props.failuresBucket.bucketName,
      [RUNTIME_ENV.correctionDlqMaxAttempts]: String(deadLetterAttempts),
    };
    const functionOptions = { key, timeout, memorySize: props.memorySize ?? 1024, environment };
    const entry = (file: string): string => path.join(REPO_ROOT, 'anomaly', 'correction', 'lambda', file);

    this.correctionHandler = this.queueFunction(
      'CorrectionHandler',
      props.correctionHandlerEntry ?? entry('request-handler.ts'),
      this.correctionsQueue,
      functionOptions,
    );
    this.correctionDeadLetterQueue.grantSendMessages(this.correctionHandler);

    this.dlqProcessor = this.queueFunction(
      'DlqProcessor',
      props.dlqProcessorEntry ?? entry('dlq-processor.ts'),
      this.correctionDeadLetterQueue,
      functionOptions,
    );
    props.failuresBucket.grantPut(this.dlqProcessor, PREFIX.failures);

    // Both recalculate (the DLQ processor retries a dead letter through the handler before storing it).
    for (const fn of [this.correctionHandler, this.dlqProcessor]) {
      this.correctionTable.grantReadWriteData(fn);
      props.resultsBucket.grantRead(fn, PREFIX.results);
      props.resultsBucket.grantPut(fn, PREFIX.results);
      props.rawBucket.grantRead(fn, PREFIX.raw);
    }
  }

  /** A function on an SQS event source that reports its batch item failures (postponed messages). */
  private queueFunction(
    id: string,
    entry: string,
    queue: sqs.IQueue,
    options: {
      key: kms.IKey;
      timeout: Duration;
      memorySize: number;
      environment: Record<string, string>;
    },
  ): nodejs.NodejsFunction {
    const fn = new NodeFunction(this, id, {
      entry,
      encryptionKey: options.key,
      environment: options.environment,
      timeout: options.timeout,
      memorySize: options.memorySize,
    }).function;
    // The event source grants consuming the queue (receive, delete, change visibility) and its key.
    fn.addEventSource(
      new lambdaEventSources.SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    return fn;
  }
}
