/**
 * The correction side of the pipeline: the dead-letter queue for rejected records, the queue of
 * correction requests, the correction history table (at most one correction per item, enforced by a
 * conditional write on `id`), and, once their code exists, the correction handler and the DLQ processor.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { RUNTIME_ENV } from '../names.ts';
import { NodeFunction } from './node-function.ts';
import { secureQueue } from './secure.ts';

export interface CorrectionsProps {
  readonly encryptionKey: kms.IKey;
  /** Where the DLQ processor stores what needs a person (`failures/`). */
  readonly failuresBucket: s3.IBucket;
  /** The raw archive the correction handler recalculates from. */
  readonly rawBucket: s3.IBucket;
  /**
   * Handler module (exporting `handler`) of the correction handler, fed by the corrections queue.
   * @default none — not deployed until the correction code (issue 6) lands
   */
  readonly correctionHandlerEntry?: string;
  /**
   * Handler module (exporting `handler`) of the DLQ processor, fed by the DLQ.
   * @default none — not deployed until the DLQ processor code (issue 6) lands
   */
  readonly dlqProcessorEntry?: string;
  /**
   * Receives before a message moves on to the poison queue (DLQ) or the poison queue (for the DLQ itself).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Timeout of the two functions; the queues' visibility timeout is six times this, as Lambda advises
   * for SQS event sources, so a message is not redelivered while a retry of its batch is running.
   * @default Duration.seconds(30)
   */
  readonly functionTimeout?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class Corrections extends Construct {
  readonly correctionTable: dynamodb.Table;
  /** Rejected records (and correction requests that failed repeatedly), each with its reason. */
  readonly deadLetterQueue: sqs.Queue;
  /** Messages the DLQ processor itself could not handle: a person must look. */
  readonly poisonQueue: sqs.Queue;
  readonly correctionsQueue: sqs.Queue;
  readonly correctionHandler?: nodejs.NodejsFunction;
  readonly dlqProcessor?: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: CorrectionsProps) {
    super(scope, id);
    const key = props.encryptionKey;
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const timeout = props.functionTimeout ?? Duration.seconds(30);
    const visibilityTimeout = Duration.seconds(timeout.toSeconds() * 6);

    this.correctionTable = new dynamodb.Table(this, 'CorrectionTable', {
      tableName: DEFAULT_NAMES.correctionTable,
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
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', {
      encryptionKey: key,
      queueName: DEFAULT_NAMES.dlq,
      visibilityTimeout,
      deadLetterQueue: { queue: this.poisonQueue, maxReceiveCount },
    });
    this.correctionsQueue = secureQueue(this, 'CorrectionsQueue', {
      encryptionKey: key,
      queueName: `${DEFAULT_NAMES.correctionTable}-requests`,
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    const environment = {
      [RUNTIME_ENV.correctionTable]: this.correctionTable.tableName,
      [RUNTIME_ENV.dlqUrl]: this.deadLetterQueue.queueUrl,
      [RUNTIME_ENV.failuresBucket]: props.failuresBucket.bucketName,
      [RUNTIME_ENV.rawBucket]: props.rawBucket.bucketName,
    };

    if (props.correctionHandlerEntry) {
      const fn = this.queueFunction('CorrectionHandler', props.correctionHandlerEntry, {
        key,
        timeout,
        environment,
        queue: this.correctionsQueue,
      });
      this.correctionTable.grantReadWriteData(fn);
      props.rawBucket.grantRead(fn);
      this.deadLetterQueue.grantSendMessages(fn);
      this.correctionHandler = fn;
    }
    if (props.dlqProcessorEntry) {
      const fn = this.queueFunction('DlqProcessor', props.dlqProcessorEntry, {
        key,
        timeout,
        environment,
        queue: this.deadLetterQueue,
      });
      props.failuresBucket.grantPut(fn);
      this.dlqProcessor = fn;
    }
  }

  private queueFunction(
    id: string,
    entry: string,
    options: { key: kms.IKey; timeout: Duration; environment: Record<string, string>; queue: sqs.IQueue },
  ): nodejs.NodejsFunction {
    const fn = new NodeFunction(this, id, {
      entry,
      encryptionKey: options.key,
      environment: options.environment,
      timeout: options.timeout,
    }).function;
    fn.addEventSource(
      new lambdaEventSources.SqsEventSource(options.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    return fn;
  }
}
