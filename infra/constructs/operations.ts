/**
 * What an operator looks at: one dashboard with the pipeline's vital signs, and alarms that notify an
 * SNS topic. Every alarm is on a signal that means records are late, lost or stuck — not on noise.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../names.ts';
import { type ConsumerRuntime, runtimeMetric } from './stream-consumers.ts';

export interface OperationsProps {
  readonly stream: kinesis.IStream;
  /** Which runtime publishes the pipeline metrics (their `Runtime` dimension). */
  readonly consumerRuntime: ConsumerRuntime;
  /** Consumer lag (Kinesis GetRecords or Lambda IteratorAge, maximum, 1-minute period). */
  readonly iteratorAge: cloudwatch.IMetric;
  /** Failed consumer work (Lambda errors or MultiLang delivery retries, sum per minute). */
  readonly consumerErrors: cloudwatch.IMetric;
  readonly deliveryStreams: readonly firehose.IDeliveryStream[];
  /** Rejected records. Some rejections are normal (bad devices), so this alarms on a backlog only. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Queues whose every message means something was not processed. */
  readonly mustStayEmpty: readonly sqs.IQueue[];
  /**
   * Correction requests the handler could not complete, waiting for the DLQ processor's retries: charted
   * beside the other queues. What the retries cannot heal is alarmed through `CorrectionFailures`.
   * @default none
   */
  readonly correctionDeadLetterQueue?: sqs.IQueue;
  /**
   * Alarm when consumers are this far behind for three consecutive minutes.
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeThreshold?: Duration;
  /**
   * Alarm when this many rejected records wait in the DLQ.
   * @default 1000
   */
  readonly deadLetterBacklogThreshold?: number;
  /** @default none — subscribe to the topic after deployment */
  readonly alarmEmail?: string;
  /**
   * The consumers consult a served model: chart its review and alarm when the stream has run on the
   * in-stream detector alone for `modelUnavailablePeriods` minutes.
   * @default false
   */
  readonly modelReview?: boolean;
  /** @default 5 (minutes) */
  readonly modelUnavailablePeriods?: number;
}

export class Operations extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    // A key of its own: CloudWatch must be allowed to use it to publish alarms to the encrypted topic,
    // and that grant should not extend to the data key.
    const topicKey = new kms.Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: 'fleetstream alarm topic',
    });
    topicKey.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const metric = (metricName: string, label: string): cloudwatch.Metric =>
      runtimeMetric(metricName, props.consumerRuntime, label);
    const recordsIn = metric(METRIC_NAMES.recordsIn, 'records in');
    const rejected = metric(METRIC_NAMES.recordsRejected, 'rejected');
    const anomalies = metric(METRIC_NAMES.anomalies, 'anomalies');
    // The correction handler is its own function, not a consumer runtime: no Runtime dimension.
    const corrections = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: METRIC_NAMES.correctionsApplied,
      label: 'corrections applied',
      statistic: 'Sum',
      period: Duration.minutes(1),
    });
    // Dead letters the DLQ processor gave up on and stored under failures/: each needs a person.
    const correctionFailures = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: METRIC_NAMES.correctionFailures,
      label: 'corrections stored as failures',
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
    const anomalyRate = new cloudwatch.MathExpression({
      expression: 'IF(records > 0, 100 * anomalies / records, 0)',
      usingMetrics: { anomalies, records: recordsIn },
      label: 'anomaly rate (%)',
      period: Duration.minutes(1),
    });
    const incoming = props.stream.metricIncomingRecords({ statistic: 'Sum', period: Duration.minutes(1) });
    const deliverySuccess = props.deliveryStreams.map((stream) =>
      stream.metric('DeliveryToS3.Success', {
        statistic: 'Average',
        period: Duration.minutes(5),
        label: stream.deliveryStreamName,
      }),
    );
    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
    });

    const ageThreshold = (props.iteratorAgeThreshold ?? Duration.minutes(5)).toMilliseconds();
    this.alarm('IteratorAgeHigh', props.iteratorAge, {
      threshold: ageThreshold,
      evaluationPeriods: 3,
      description: `Consumers are more than ${ageThreshold / 1000} s behind the stream.`,
    });
    this.alarm('ProcessingErrors', props.consumerErrors, {
      threshold: 0,
      evaluationPeriods: 3,
      description:
        'Consumers have failed batches or retried deliveries for three minutes: results are delayed.',
    });
    this.alarm('DeadLetterBacklog', dlqDepth, {
      threshold: props.deadLetterBacklogThreshold ?? 1000,
      evaluationPeriods: 5,
      description:
        'Rejected records pile up in the DLQ: a producer sends bad data (see the reason codes) or nobody reads it.',
    });
    this.alarm('CorrectionFailures', correctionFailures, {
      threshold: 0,
      evaluationPeriods: 1,
      description:
        'Results that could not heal themselves were stored under failures/corrections/ after their last retry: ' +
        'see `fleetstream corrections failures`.',
    });
    props.mustStayEmpty.forEach((queue, index) => {
      this.alarm(
        `NotEmpty${index}`,
        queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        {
          threshold: 0,
          evaluationPeriods: 1,
          description: `${queue.node.path}: unprocessed items wait for a person.`,
        },
      );
    });
    props.deliveryStreams.forEach((stream, index) => {
      // Average of a 0/1 success metric: below 1 means some deliveries to S3 failed and are being retried.
      this.alarm(`DeliveryFailing${index}`, deliverySuccess[index]!, {
        threshold: 1,
        evaluationPeriods: 3,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        description: `${stream.deliveryStreamName}: Firehose fails to deliver to S3.`,
      });
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: 'fleetstream' });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Incoming records',
        left: [incoming, recordsIn, rejected],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Iterator age (ms)', left: [props.iteratorAge], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Processing errors', left: [props.consumerErrors], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Anomaly rate', left: [anomalyRate], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Corrections',
        left: [corrections],
        right: [correctionFailures],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        left: [
          dlqDepth,
          ...(props.correctionDeadLetterQueue === undefined
            ? []
            : [
                props.correctionDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
                  statistic: 'Maximum',
                  period: Duration.minutes(1),
                }),
              ]),
          ...props.mustStayEmpty.map((queue) =>
            queue.metricApproximateNumberOfMessagesVisible({
              statistic: 'Maximum',
              period: Duration.minutes(1),
            }),
          ),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Firehose delivery success', left: deliverySuccess, width: 24 }),
    );
    if (props.modelReview) this.modelReview(metric, props.modelUnavailablePeriods ?? 5);
  }

  /** The model's second opinion: what it decided, what it cost, and whether the endpoint answers. */
  private modelReview(metric: (name: string, label: string) => cloudwatch.Metric, periods: number): void {
    const names = METRIC_NAMES.model;
    // A gauge each runtime sets after every batch: the worst shard decides.
    const breakerOpen = metric(names.breakerOpen, 'breaker open').with({ statistic: 'Maximum' });
    this.alarm('ModelUnavailable', breakerOpen, {
      threshold: 1,
      evaluationPeriods: periods,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'The model endpoint keeps failing: in-stream alarms are decided without the model, so false alarms reach correction.',
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Model review: alarms',
        left: [
          metric(names.confirmed, 'confirmed'),
          metric(names.dismissed, 'dismissed'),
          metric(names.inStreamOnly, 'in-stream only'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Model review: endpoint',
        left: [
          metric(names.requests, 'InvokeEndpoint calls'),
          metric(names.failures, 'failures'),
          metric(names.timeouts, 'timeouts'),
        ],
        right: [breakerOpen],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Model review: readings scored',
        left: [metric(names.invoked, 'scored'), metric(names.skipped_open, 'skipped, breaker open')],
        width: 8,
      }),
    );
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    options: {
      threshold: number;
      evaluationPeriods: number;
      description: string;
      comparison?: cloudwatch.ComparisonOperator;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods,
      comparisonOperator: options.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No data means no traffic or no errors: neither is an incident on its own.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
