/**
 * Where results land: KMS-encrypted buckets (results, raw archive, failures) fed by Firehose with dynamic
 * partitioning on the `dt`/`hour` fields the encoder writes into every line, and a Glue table so Athena
 * can query the results with partition projection (no crawler, no MSCK REPAIR).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEVICE_PARTS, S3_PREFIXES } from '../../consumers/contract/layout.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { type DeliveryBuffering, partitionedDelivery } from './partitioned-delivery.ts';
import { accessLogBucket, type StorageLifecycle, secureBucket } from './secure.ts';

export interface ResultsLakeProps {
  /** Key that encrypts the buckets and the delivery streams. */
  readonly encryptionKey: kms.IKey;
  /**
   * Results are small and read by Athena: Standard-IA after a month, Glacier Instant Retrieval (still
   * queryable) after a quarter, deleted after two years.
   * @default { infrequentAccessAfter: 30 days, archiveAfter: 90 days (GLACIER_IR), expireAfter: 730 days }
   */
  readonly resultsLifecycle?: StorageLifecycle;
  /**
   * The raw archive is read only to recalculate (corrections, audits): Glacier Flexible Retrieval after
   * a quarter, deleted after 400 days (a year of audits plus slack).
   * @default { infrequentAccessAfter: 30 days, archiveAfter: 90 days (GLACIER), expireAfter: 400 days }
   */
  readonly rawLifecycle?: StorageLifecycle;
  /**
   * Failures wait for a person; after a year they are stale.
   * @default { infrequentAccessAfter: 30 days, archiveAfter: 90 days (GLACIER_IR), expireAfter: 365 days }
   */
  readonly failuresLifecycle?: StorageLifecycle;
  /** @default { interval: 300 s, size: 128 MiB } */
  readonly buffering?: DeliveryBuffering;
  /**
   * RETAIN keeps buckets (and their data) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default 'fleetstream' */
  readonly glueDatabaseName?: string;
}

export type { DeliveryBuffering } from './partitioned-delivery.ts';

/**
 * Scalar columns of the result lines (readings, windows, missing records, correction requests share
 * one prefix; a column absent from a kind reads as NULL). Nested per-metric maps differ in shape per
 * kind and are left out of the typed table.
 */
const RESULT_COLUMNS: readonly glue.CfnTable.ColumnProperty[] = [
  { name: 'kind', type: 'string' },
  { name: 'id', type: 'string' },
  { name: 'deviceid', type: 'string' },
  { name: 'seq', type: 'bigint' },
  { name: 'ts', type: 'string' },
  { name: 'firmware', type: 'string' },
  { name: 'flags', type: 'array<string>' },
  { name: 'anomalyscore', type: 'double' },
  { name: 'dewpointc', type: 'double' },
  { name: 'powerw', type: 'double' },
  { name: 'resultid', type: 'string' },
  { name: 'version', type: 'int' },
  { name: 'windowstart', type: 'string' },
  { name: 'windowend', type: 'string' },
  { name: 'received', type: 'bigint' },
  { name: 'expected', type: 'bigint' },
  { name: 'completeness', type: 'double' },
  { name: 'firstseq', type: 'bigint' },
  { name: 'lastseq', type: 'bigint' },
  { name: 'anomalous', type: 'bigint' },
  { name: 'fromseq', type: 'bigint' },
  { name: 'toseq', type: 'bigint' },
  { name: 'reason', type: 'string' },
  { name: 'targetid', type: 'string' },
];

export class ResultsLake extends Construct {
  readonly accessLogs: s3.Bucket;
  readonly resultsBucket: s3.Bucket;
  readonly rawBucket: s3.Bucket;
  readonly failuresBucket: s3.Bucket;
  /** Per-shard state snapshots of the consumers; rewritten often, never tiered, never expired. */
  readonly stateBucket: s3.Bucket;
  readonly resultsDeliveryStream: firehose.DeliveryStream;
  readonly rawDeliveryStream: firehose.DeliveryStream;
  readonly glueDatabaseName: string;
  readonly resultsTableName = 'results';

  constructor(scope: Construct, id: string, props: ResultsLakeProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = props.encryptionKey;

    this.accessLogs = accessLogBucket(this, 'AccessLogs', removalPolicy);
    const common = { encryptionKey: key, accessLogs: this.accessLogs, removalPolicy };
    this.resultsBucket = secureBucket(this, 'Results', {
      ...common,
      lifecycle: props.resultsLifecycle ?? { expireAfter: Duration.days(730) },
    });
    this.rawBucket = secureBucket(this, 'Raw', {
      ...common,
      lifecycle: props.rawLifecycle ?? {
        archiveClass: s3.StorageClass.GLACIER,
        expireAfter: Duration.days(400),
      },
    });
    this.failuresBucket = secureBucket(this, 'Failures', {
      ...common,
      lifecycle: props.failuresLifecycle ?? { expireAfter: Duration.days(365) },
    });

    this.stateBucket = secureBucket(this, 'State', { ...common, lifecycle: { tiering: false } });

    const buffering = props.buffering ?? {};
    this.resultsDeliveryStream = partitionedDelivery(this, 'ResultsDelivery', {
      name: DEFAULT_NAMES.resultsDeliveryStream,
      bucket: this.resultsBucket,
      prefix: S3_PREFIXES.results,
      key,
      buffering,
    });
    this.rawDeliveryStream = partitionedDelivery(this, 'RawDelivery', {
      name: DEFAULT_NAMES.rawDeliveryStream,
      bucket: this.rawBucket,
      prefix: S3_PREFIXES.raw,
      key,
      buffering,
    });

    this.glueDatabaseName = props.glueDatabaseName ?? 'fleetstream';
    this.resultsTable();
  }

  private resultsTable(): void {
    const stack = Stack.of(this);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: this.glueDatabaseName, description: 'fleetstream results for Athena' },
    });
    const location = `s3://${this.resultsBucket.bucketName}/${S3_PREFIXES.results.split('/')[0]}/`;
    const table = new glue.CfnTable(this, 'ResultsTable', {
      catalogId: stack.account,
      databaseName: this.glueDatabaseName,
      tableInput: {
        name: this.resultsTableName,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          // Partition projection: Athena computes partitions from these rules instead of the catalog.
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2024-01-01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'projection.part.type': 'enum',
          'projection.part.values': Array.from({ length: DEVICE_PARTS }, (_, i) => i.toString(16)).join(','),
          'storage.location.template': `${location}dt=\${dt}/hour=\${hour}/part=\${part}/`,
        },
        partitionKeys: [
          { name: 'dt', type: 'string' },
          { name: 'hour', type: 'string' },
          { name: 'part', type: 'string' },
        ],
        storageDescriptor: {
          location,
          columns: [...RESULT_COLUMNS],
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // Lines carry camelCase keys (deviceId); Glue columns are lower case.
            parameters: { 'case.insensitive': 'true' },
          },
        },
      },
    });
    table.addResourceDependency(database);
  }
}
