/**
 * Secure-by-default building blocks every construct uses, so encryption, TLS-only access and public
 * access blocking are decided in one place instead of per call site.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** When objects move to cheaper storage and when they are deleted. */
export interface StorageLifecycle {
  /**
   * Whether objects move to cheaper classes at all. Off for small objects that are rewritten often
   * (state snapshots), where Standard-IA's 30-day minimum charge would cost more than it saves.
   * @default true
   */
  readonly tiering?: boolean;
  /**
   * Move to S3 Standard-IA after this age. S3 requires at least 30 days.
   * @default Duration.days(30)
   */
  readonly infrequentAccessAfter?: Duration;
  /**
   * Move to an archive class after this age.
   * @default Duration.days(90)
   */
  readonly archiveAfter?: Duration;
  /**
   * Archive class used after `archiveAfter`.
   * @default s3.StorageClass.GLACIER_INSTANT_RETRIEVAL
   */
  readonly archiveClass?: s3.StorageClass;
  /**
   * Delete after this age.
   * @default never (storage then grows without bound; the callers set an expiry per data class)
   */
  readonly expireAfter?: Duration;
}

export interface SecureBucketProps {
  readonly encryptionKey: kms.IKey;
  readonly accessLogs: s3.IBucket;
  readonly lifecycle: StorageLifecycle;
  readonly removalPolicy: RemovalPolicy;
}

/** A KMS-encrypted, TLS-only, non-public bucket with server access logs and a lifecycle. */
export function secureBucket(scope: Construct, id: string, props: SecureBucketProps): s3.Bucket {
  const { lifecycle } = props;
  const transitions: s3.Transition[] | undefined =
    lifecycle.tiering === false
      ? undefined
      : [
          {
            storageClass: s3.StorageClass.INFREQUENT_ACCESS,
            transitionAfter: lifecycle.infrequentAccessAfter ?? Duration.days(30),
          },
          {
            storageClass: lifecycle.archiveClass ?? s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
            transitionAfter: lifecycle.archiveAfter ?? Duration.days(90),
          },
        ];
  return new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: props.encryptionKey,
    // One data key per bucket instead of one KMS call per object: Firehose writes many objects.
    bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    serverAccessLogsBucket: props.accessLogs,
    serverAccessLogsPrefix: `${id}/`,
    removalPolicy: props.removalPolicy,
    autoDeleteObjects: false,
    lifecycleRules: [
      {
        id: 'tiering-and-expiry',
        transitions,
        expiration: lifecycle.expireAfter,
        // Firehose retries leave incomplete multipart uploads behind; they cost storage but are invisible.
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
  });
}

/**
 * The bucket that receives S3 server access logs. Log delivery only supports SSE-S3 on the target
 * bucket, so this one bucket is not KMS-encrypted.
 */
export function accessLogBucket(scope: Construct, id: string, removalPolicy: RemovalPolicy): s3.Bucket {
  return new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    removalPolicy,
    lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
  });
}

export interface SecureQueueProps {
  /** @default SQS-managed encryption (SSE-SQS) */
  readonly encryptionKey?: kms.IKey;
  /** @default none: the queue is itself a dead-letter destination */
  readonly deadLetterQueue?: sqs.DeadLetterQueue;
  /** @default Duration.seconds(30) */
  readonly visibilityTimeout?: Duration;
  /** @default Duration.days(14) (the SQS maximum, so a person has time to look) */
  readonly retentionPeriod?: Duration;
  readonly queueName?: string;
}

/** An encrypted, TLS-only queue. */
export function secureQueue(scope: Construct, id: string, props: SecureQueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, {
    queueName: props.queueName,
    encryption: props.encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
    encryptionMasterKey: props.encryptionKey,
    // Reuses the data key for 5 minutes instead of calling KMS for every message.
    dataKeyReuse: props.encryptionKey ? Duration.minutes(5) : undefined,
    enforceSSL: true,
    deadLetterQueue: props.deadLetterQueue,
    visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(30),
    retentionPeriod: props.retentionPeriod ?? Duration.days(14),
  });
}
