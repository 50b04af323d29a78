/**
 * Devices → EventBridge bus → rule → Kinesis stream. The rule's pattern and the partition key path come
 * from the shared contract, so the routing the local stack tests is the routing that is deployed.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_NAMES,
  PARTITION_KEY_PATH,
  TELEMETRY_EVENT_PATTERN,
} from '../../consumers/contract/routing.ts';
import { secureQueue } from './secure.ts';

/** How the stream is provisioned. */
export type StreamCapacity =
  | { readonly mode: 'on-demand' }
  | { readonly mode: 'provisioned'; readonly shards: number };

export interface TelemetryIngestProps {
  /** Key that encrypts the stream at rest. */
  readonly encryptionKey: kms.IKey;
  /**
   * On-demand scales shards by itself; provisioned is cheaper for a steady, known load.
   * @default { mode: 'on-demand' }
   */
  readonly capacity?: StreamCapacity;
  /**
   * How long records stay in the stream: the window in which a replay from TRIM_HORIZON can reach them.
   * Kinesis allows 24 hours to 365 days; retention beyond 24 hours is billed per shard hour.
   * @default Duration.days(7)
   */
  readonly retention?: Duration;
  /**
   * How long the EventBridge archive keeps events for a replay into the bus (a second replay path,
   * independent of the stream's retention).
   * @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;
  /**
   * Attempts EventBridge makes to put an event into the stream before it goes to the target DLQ.
   * @default 185 (EventBridge's maximum, so throttling during a burst never diverts events)
   */
  readonly targetRetryAttempts?: number;
  /**
   * Longest time EventBridge keeps retrying one event.
   * @default Duration.hours(24) (EventBridge's maximum)
   */
  readonly targetMaxEventAge?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Converts the contract's wire-format pattern into the CDK's, refusing keys it does not know. */
export function toEventPattern(pattern: Readonly<Record<string, readonly string[]>>): events.EventPattern {
  const result: { source?: string[]; detailType?: string[] } = {};
  for (const [key, values] of Object.entries(pattern)) {
    if (key === 'source') result.source = [...values];
    else if (key === 'detail-type') result.detailType = [...values];
    // A key silently dropped here would widen the deployed rule compared with the tested one.
    else throw new Error(`event pattern key '${key}' is not mapped to the CDK EventPattern`);
  }
  return result;
}

export class TelemetryIngest extends Construct {
  readonly bus: events.EventBus;
  readonly rule: events.Rule;
  readonly archive: events.Archive;
  readonly stream: kinesis.Stream;
  /** Events EventBridge could not put into the stream after all retries. */
  readonly targetDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: TelemetryIngestProps) {
    super(scope, id);
    const capacity = props.capacity ?? { mode: 'on-demand' };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.stream = new kinesis.Stream(this, 'Stream', {
      streamName: DEFAULT_NAMES.stream,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: props.encryptionKey,
      streamMode:
        capacity.mode === 'on-demand' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: capacity.mode === 'provisioned' ? capacity.shards : undefined,
      retentionPeriod: props.retention ?? Duration.days(7),
      removalPolicy,
    });

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: DEFAULT_NAMES.bus });
    const eventPattern = toEventPattern(TELEMETRY_EVENT_PATTERN);
    this.archive = this.bus.archive('Archive', {
      archiveName: `${DEFAULT_NAMES.bus}-archive`,
      eventPattern,
      retention: props.archiveRetention ?? Duration.days(30),
    });

    // SSE-SQS rather than the data key: EventBridge delivers to a target DLQ as the service itself,
    // which a customer-managed key would have to allow in its key policy.
    this.targetDeadLetterQueue = secureQueue(this, 'TargetDeadLetterQueue', {
      queueName: `${DEFAULT_NAMES.rule}-dlq`,
    });

    this.rule = new events.Rule(this, 'Rule', {
      ruleName: DEFAULT_NAMES.rule,
      eventBus: this.bus,
      eventPattern,
      targets: [
        new targets.KinesisStream(this.stream, {
          partitionKeyPath: PARTITION_KEY_PATH,
          deadLetterQueue: this.targetDeadLetterQueue,
          retryAttempts: props.targetRetryAttempts ?? 185,
          maxEventAge: props.targetMaxEventAge ?? Duration.hours(24),
        }),
      ],
    });
  }
}
