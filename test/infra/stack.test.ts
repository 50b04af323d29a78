import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { CORRECTION_NAMES } from '../../anomaly/correction/names.ts';
import { PARTITION_KEY_QUERIES, S3_PREFIXES } from '../../consumers/contract/layout.ts';
import {
  DEFAULT_NAMES,
  PARTITION_KEY_PATH,
  TELEMETRY_EVENT_PATTERN,
} from '../../consumers/contract/routing.ts';
import { KCL_APPLICATION_NAME, METRIC_NAMES, METRICS_NAMESPACE, RUNTIME_ENV } from '../../infra/names.ts';
import { type SynthesizedVariants, synthesizeVariants } from './synth.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };

function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

function statements(template: Template): { Action: string | string[]; Effect: string }[] {
  const policies = resourcesOf(template, 'AWS::IAM::Policy');
  return policies.flatMap(([, policy]) => {
    const document = policy.Properties?.PolicyDocument as {
      Statement: { Action: string | string[]; Effect: string }[];
    };
    return document.Statement;
  });
}

const SNAPSHOT = path.join(import.meta.dirname, '__snapshots__', 'fleetstream-fargate.template.json');

let synth: SynthesizedVariants;

// One synthesis for the whole file: aws-cdk-lib and the two stacks take ~20 s on a shared core.
before(() => {
  synth = synthesizeVariants();
});
after(() => {
  if (synth) rmSync(synth.outdir, { recursive: true, force: true });
});

describe('ingest', () => {
  it('routes the contract pattern to the stream with the device id as partition key', () => {
    synth.fargate.hasResourceProperties('AWS::Events::Rule', {
      Name: DEFAULT_NAMES.rule,
      EventPattern: Match.objectEquals(JSON.parse(JSON.stringify(TELEMETRY_EVENT_PATTERN))),
      Targets: [
        Match.objectLike({
          KinesisParameters: { PartitionKeyPath: PARTITION_KEY_PATH },
          DeadLetterConfig: { Arn: Match.anyValue() },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
  });

  it('archives the same events for replay into the bus', () => {
    synth.fargate.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: Match.objectEquals(JSON.parse(JSON.stringify(TELEMETRY_EVENT_PATTERN))),
      RetentionDays: 30,
    });
  });

  it('encrypts the stream with the customer-managed key and keeps a 7-day replay window', () => {
    synth.fargate.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: DEFAULT_NAMES.stream,
      RetentionPeriodHours: 168,
      StreamEncryption: {
        EncryptionType: 'KMS',
        KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
      },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
    });
  });

  it('rotates every customer-managed key', () => {
    for (const variant of [synth.fargate, synth.lambda]) {
      const keys = resourcesOf(variant, 'AWS::KMS::Key');
      assert.ok(keys.length >= 2);
      for (const [id, key] of keys) assert.equal(key.Properties?.EnableKeyRotation, true, id);
    }
  });
});

describe('results lake', () => {
  it('delivers results and raw events with dynamic partitioning on dt/hour, GZIP and an error prefix', () => {
    for (const [name, prefix] of [
      [DEFAULT_NAMES.resultsDeliveryStream, S3_PREFIXES.results],
      [DEFAULT_NAMES.rawDeliveryStream, S3_PREFIXES.raw],
    ] as const) {
      synth.fargate.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
        DeliveryStreamName: name,
        DeliveryStreamEncryptionConfigurationInput: {
          KeyType: 'CUSTOMER_MANAGED_CMK',
          KeyARN: Match.anyValue(),
        },
        ExtendedS3DestinationConfiguration: Match.objectLike({
          Prefix: prefix,
          ErrorOutputPrefix: S3_PREFIXES.errors,
          CompressionFormat: 'GZIP',
          BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 128 },
          DynamicPartitioningConfiguration: Match.objectLike({ Enabled: true }),
          EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: Match.anyValue() } },
          ProcessingConfiguration: {
            Enabled: true,
            // Packed records are split into their lines, partitioned, and given their newline back.
            Processors: [
              {
                Type: 'RecordDeAggregation',
                Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'JSON' }],
              },
              {
                Type: 'MetadataExtraction',
                Parameters: Match.arrayWith([
                  {
                    ParameterName: 'MetadataExtractionQuery',
                    ParameterValue: `{"dt":${PARTITION_KEY_QUERIES.dt},"hour":${PARTITION_KEY_QUERIES.hour},"part":${PARTITION_KEY_QUERIES.part}}`,
                  },
                ]),
              },
              Match.objectLike({ Type: 'AppendDelimiterToRecord' }),
            ],
          },
        }),
      });
    }
  });

  it('blocks public access, encrypts and enforces TLS on every bucket', () => {
    const buckets = resourcesOf(synth.fargate, 'AWS::S3::Bucket');
    assert.equal(buckets.length, 5, 'results, raw, failures, state and access logs');
    for (const [id, bucket] of buckets) {
      const props = bucket.Properties ?? {};
      assert.deepEqual(
        props.PublicAccessBlockConfiguration,
        {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        id,
      );
      assert.ok(props.BucketEncryption, `${id} is encrypted`);
    }
    const policies = resourcesOf(synth.fargate, 'AWS::S3::BucketPolicy');
    assert.equal(policies.length, buckets.length, 'every bucket has a policy');
    for (const [id, policy] of policies) {
      const document = policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] };
      const denyPlainHttp = document.Statement.some(
        (statement) =>
          statement.Effect === 'Deny' &&
          JSON.stringify(statement.Condition) ===
            JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      assert.ok(denyPlainHttp, `${id} denies requests without TLS`);
    }
  });

  it('encrypts data buckets with KMS and logs their access', () => {
    const dataBuckets = resourcesOf(synth.fargate, 'AWS::S3::Bucket').filter(
      ([id]) => !id.includes('AccessLogs'),
    );
    assert.equal(dataBuckets.length, 4);
    for (const [id, bucket] of dataBuckets) {
      const props = bucket.Properties ?? {};
      const rule = (
        props.BucketEncryption as { ServerSideEncryptionConfiguration: Record<string, unknown>[] }
      ).ServerSideEncryptionConfiguration[0] as { ServerSideEncryptionByDefault: { SSEAlgorithm: string } };
      assert.equal(rule.ServerSideEncryptionByDefault.SSEAlgorithm, 'aws:kms', id);
      assert.ok(
        (props.LoggingConfiguration as { DestinationBucketName?: unknown })?.DestinationBucketName,
        id,
      );
    }
  });

  it('tiers data to infrequent access and an archive class, then expires it', () => {
    const expected: Record<string, { archive: string; expireDays: number }> = {
      LakeResults: { archive: 'GLACIER_IR', expireDays: 730 },
      LakeRaw: { archive: 'GLACIER', expireDays: 400 },
      LakeFailures: { archive: 'GLACIER_IR', expireDays: 365 },
    };
    const buckets = resourcesOf(synth.fargate, 'AWS::S3::Bucket');
    for (const [prefix, { archive, expireDays }] of Object.entries(expected)) {
      const found = buckets.find(([id]) => id.startsWith(prefix) && !id.includes('AccessLogs'));
      assert.ok(found, prefix);
      const lifecycle = found[1].Properties?.LifecycleConfiguration as
        | { Rules: Record<string, unknown>[] }
        | undefined;
      const rules = lifecycle?.Rules ?? [];
      assert.deepEqual(rules[0]?.Transitions, [
        { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
        { StorageClass: archive, TransitionInDays: 90 },
      ]);
      assert.equal(rules[0]?.ExpirationInDays, expireDays);
      assert.equal(rules[0]?.AbortIncompleteMultipartUpload !== undefined, true);
    }
    // State snapshots are rewritten constantly: tiering would only add minimum-duration charges.
    const state = buckets.find(([id]) => id.startsWith('LakeState'));
    assert.ok(state, 'state bucket');
    const stateLifecycle = state[1].Properties?.LifecycleConfiguration as
      | { Rules: Record<string, unknown>[] }
      | undefined;
    const stateRules = stateLifecycle?.Rules ?? [];
    assert.equal(stateRules.length, 1);
    assert.equal(stateRules[0]?.Transitions, undefined);
    assert.equal(stateRules[0]?.ExpirationInDays, undefined);
  });

  it('defines a Glue table over results/ projecting exactly the partitions Firehose writes', () => {
    synth.fargate.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'results',
        PartitionKeys: Object.keys(PARTITION_KEY_QUERIES).map((key) => ({ Name: key, Type: 'string' })),
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.hour.type': 'integer',
          'projection.part.type': 'enum',
          'projection.part.values': '0,1,2,3,4,5,6,7,8,9,a,b,c,d,e,f',
        }),
      }),
    });
    const [table] = Object.values(synth.fargate.findResources('AWS::Glue::Table'));
    const template = JSON.stringify(
      (table as { Properties: { TableInput: { Parameters: Record<string, unknown> } } }).Properties.TableInput
        .Parameters['storage.location.template'],
    );
    // The location after the bucket is the Firehose prefix with Athena's placeholders in place of Firehose's.
    const fromFirehose = S3_PREFIXES.results.replaceAll(
      /!\{partitionKeyFromQuery:(\w+)\}/g,
      (_match, key: string) => `\${${key}}`,
    );
    assert.ok(template.includes(`/${fromFirehose}`), `${template} does not end in ${fromFirehose}`);
  });
});

describe('state and queues', () => {
  it('keeps point-in-time recovery and KMS encryption on every table', () => {
    for (const [variant, names] of [
      [synth.fargate, [DEFAULT_NAMES.correctionTable, KCL_APPLICATION_NAME]],
      [synth.lambda, [DEFAULT_NAMES.correctionTable]],
    ] as const) {
      const tables = resourcesOf(variant, 'AWS::DynamoDB::Table');
      assert.deepEqual(tables.map(([, table]) => table.Properties?.TableName).sort(), [...names].sort());
      for (const [id, table] of tables) {
        assert.deepEqual(
          table.Properties?.PointInTimeRecoverySpecification,
          { PointInTimeRecoveryEnabled: true },
          id,
        );
        assert.equal((table.Properties?.SSESpecification as { SSEType?: string })?.SSEType, 'KMS', id);
      }
    }
  });

  it('encrypts every queue and denies it over plain HTTP', () => {
    for (const variant of [synth.fargate, synth.lambda]) {
      const queues = resourcesOf(variant, 'AWS::SQS::Queue');
      for (const [id, queue] of queues) {
        const props = queue.Properties ?? {};
        assert.ok(
          props.KmsMasterKeyId !== undefined || props.SqsManagedSseEnabled === true,
          `${id} encrypted`,
        );
      }
      const policies = resourcesOf(variant, 'AWS::SQS::QueuePolicy');
      const tlsOnly = policies.filter(([, policy]) =>
        JSON.stringify(policy.Properties?.PolicyDocument).includes('"aws:SecureTransport":"false"'),
      );
      assert.equal(tlsOnly.length, queues.length, 'one TLS-only policy per queue');
    }
  });

  it('sends rejected records that keep failing on to a poison queue', () => {
    synth.fargate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: DEFAULT_NAMES.dlq,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
  });

  it('grants no wildcard actions', () => {
    for (const variant of [synth.fargate, synth.lambda]) {
      const actions = statements(variant).flatMap((statement) =>
        Array.isArray(statement.Action) ? statement.Action : [statement.Action],
      );
      assert.ok(actions.length > 20);
      const wildcards = actions.filter((action) => action === '*' || action.endsWith(':*'));
      assert.deepEqual(wildcards, []);
    }
  });
});

describe('correction functions (deployed by default)', () => {
  /** Logical id of the queue with this name. */
  function queueId(template: Template, name: string): string {
    const found = resourcesOf(template, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === name);
    assert.ok(found, `queue ${name}`);
    return found[0];
  }
  const redriveTarget = (template: Template, name: string) =>
    resourcesOf(template, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === name)?.[1].Properties
      ?.RedrivePolicy;

  it('keeps the request queue, its own correction DLQ and poison queue apart from the rejected-records DLQ', () => {
    const t = synth.fargate;
    assert.deepEqual(redriveTarget(t, CORRECTION_NAMES.queue), {
      deadLetterTargetArn: { 'Fn::GetAtt': [queueId(t, CORRECTION_NAMES.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
    // The DLQ processor's 5 attempts, plus as many receives again for invocations that failed.
    assert.deepEqual(redriveTarget(t, CORRECTION_NAMES.deadLetterQueue), {
      deadLetterTargetArn: {
        'Fn::GetAtt': [queueId(t, `${CORRECTION_NAMES.deadLetterQueue}-poison`), 'Arn'],
      },
      maxReceiveCount: 10,
    });
    assert.deepEqual(redriveTarget(t, DEFAULT_NAMES.dlq), {
      deadLetterTargetArn: { 'Fn::GetAtt': [queueId(t, `${DEFAULT_NAMES.dlq}-poison`), 'Arn'] },
      maxReceiveCount: 5,
    });
    const mustStayEmpty = resourcesOf(t, 'AWS::CloudWatch::Alarm').filter(([id]) =>
      id.startsWith('OperationsNotEmpty'),
    );
    assert.ok(
      mustStayEmpty.some(([, alarm]) =>
        JSON.stringify(alarm.Properties?.Dimensions).includes(
          queueId(t, `${CORRECTION_NAMES.deadLetterQueue}-poison`),
        ),
      ),
      'an alarm on the correction poison queue',
    );
  });

  it('feeds the correction handler from the request queue and the DLQ processor from the correction DLQ', () => {
    const t = synth.fargate;
    const functions = resourcesOf(t, 'AWS::Lambda::Function');
    const functionId = (prefix: string): string => {
      const found = functions.filter(([id]) => id.startsWith(prefix));
      assert.equal(found.length, 1, prefix);
      return found[0]![0];
    };
    const handler = functionId('CorrectionsCorrectionHandlerFunction');
    const processor = functionId('CorrectionsDlqProcessorFunction');
    const mappings = resourcesOf(t, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties ?? {});
    const fed = Object.fromEntries(
      mappings.map((m) => [
        (m.EventSourceArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
        (m.FunctionName as { Ref: string }).Ref,
      ]),
    );
    assert.deepEqual(fed, {
      [queueId(t, CORRECTION_NAMES.queue)]: handler,
      [queueId(t, CORRECTION_NAMES.deadLetterQueue)]: processor,
    });
    for (const mapping of mappings) {
      assert.deepEqual(mapping.FunctionResponseTypes, ['ReportBatchItemFailures']);
      assert.equal(mapping.BatchSize, 10);
    }

    const ref = (prefix: string, type: string) => {
      const found = resourcesOf(t, type).find(([id]) => id.startsWith(prefix));
      assert.ok(found, prefix);
      return { Ref: found[0] };
    };
    const environment = {
      [RUNTIME_ENV.correctionsQueueUrl]: { Ref: queueId(t, CORRECTION_NAMES.queue) },
      [RUNTIME_ENV.correctionsDlqUrl]: { Ref: queueId(t, CORRECTION_NAMES.deadLetterQueue) },
      [RUNTIME_ENV.correctionTable]: ref('CorrectionsCorrectionTable', 'AWS::DynamoDB::Table'),
      [RUNTIME_ENV.resultsBucket]: ref('LakeResults', 'AWS::S3::Bucket'),
      [RUNTIME_ENV.rawBucket]: ref('LakeRaw', 'AWS::S3::Bucket'),
      [RUNTIME_ENV.failuresBucket]: ref('LakeFailures', 'AWS::S3::Bucket'),
      [RUNTIME_ENV.correctionDlqMaxAttempts]: '5',
    };
    for (const id of [handler, processor]) {
      const props = functions.find(([fid]) => fid === id)?.[1].Properties ?? {};
      assert.deepEqual((props.Environment as { Variables: unknown }).Variables, environment, id);
      assert.equal(props.Handler, 'index.handler', id);
    }
  });

  it('points the consumers’ correction requests at the request queue', () => {
    const [, task] = resourcesOf(synth.fargate, 'AWS::ECS::TaskDefinition')[0]!;
    const containers = task.Properties?.ContainerDefinitions as { Environment: { Name: string }[] }[];
    assert.deepEqual(
      containers[0]?.Environment.find((v) => v.Name === RUNTIME_ENV.correctionsQueueUrl),
      {
        Name: RUNTIME_ENV.correctionsQueueUrl,
        Value: { Ref: queueId(synth.fargate, CORRECTION_NAMES.queue) },
      },
    );
    synth.lambda.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [RUNTIME_ENV.streamName]: Match.anyValue(),
          [RUNTIME_ENV.correctionsQueueUrl]: { Ref: queueId(synth.lambda, CORRECTION_NAMES.queue) },
        }),
      },
    });
  });

  it('grants each function only the buckets and prefixes it uses', () => {
    const t = synth.fargate;
    const grants = (rolePrefix: string): string => {
      const policies = resourcesOf(t, 'AWS::IAM::Policy').filter(([id]) => id.startsWith(rolePrefix));
      assert.equal(policies.length, 1, rolePrefix);
      return JSON.stringify(policies[0]![1].Properties?.PolicyDocument);
    };
    const handler = grants('CorrectionsCorrectionHandlerRoleDefaultPolicy');
    const processor = grants('CorrectionsDlqProcessorRoleDefaultPolicy');
    for (const policy of [handler, processor]) {
      assert.ok(policy.includes('/results/*') && policy.includes('/raw/*'), 'results and raw prefixes');
      assert.ok(!policy.includes('s3:DeleteObject'), 'old versions are never deleted');
    }
    assert.ok(!handler.includes('/failures/*'), 'the handler does not write failures');
    assert.ok(processor.includes('/failures/*'), 'the DLQ processor writes failures');
  });
});

describe('Fargate consumer (default)', () => {
  it('runs the KCL daemon with polling retrieval from the trim horizon', () => {
    synth.fargate.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'KCL_APPLICATION_NAME', Value: { Ref: Match.stringLikeRegexp('^ConsumersLeaseTable') } },
            { Name: 'KCL_INITIAL_POSITION', Value: 'TRIM_HORIZON' },
            { Name: 'KCL_RETRIEVAL_MODE', Value: 'POLLING' },
          ]),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          ReadonlyRootFilesystem: true,
          MountPoints: [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }],
        }),
      ],
    });
    synth.fargate.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('gives the task the environment the runtime reads, and the daemon its own lease table', () => {
    const [, task] = resourcesOf(synth.fargate, 'AWS::ECS::TaskDefinition')[0]!;
    const containers = task.Properties?.ContainerDefinitions as
      | { Environment: { Name: string }[] }[]
      | undefined;
    const container = containers?.[0];
    assert.ok(container);
    const names = container.Environment.map((variable) => variable.Name).filter((name) =>
      name.startsWith('FLEETSTREAM_'),
    );
    assert.deepEqual(
      names.sort(),
      [
        RUNTIME_ENV.correctionsQueueUrl,
        RUNTIME_ENV.stateBucket,
        RUNTIME_ENV.dlqUrl,
        RUNTIME_ENV.rawDeliveryStream,
        RUNTIME_ENV.resultsDeliveryStream,
        RUNTIME_ENV.streamName,
      ].sort(),
    );
    synth.fargate.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: KCL_APPLICATION_NAME,
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
    });
  });

  it('scales on the stream iterator age', () => {
    synth.fargate.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 1,
      MaxCapacity: 4,
    });
    synth.fargate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Namespace: 'AWS/Kinesis',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('ScaleOnIteratorAgeUpperPolicy') }],
      Threshold: 60_000,
    });
  });

  it('has no Lambda consumer', () => {
    const kinesisMappings = resourcesOf(synth.fargate, 'AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => mapping.Properties?.StartingPosition !== undefined,
    );
    assert.deepEqual(kinesisMappings, []);
  });
});

describe('Lambda consumer (consumer: lambda)', () => {
  it('maps the stream with partial batch response, bisect, bounded retries and age, and an on-failure queue', () => {
    synth.lambda.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestStream'), 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 1,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('OnFailureQueue'), 'Arn'] } },
      },
    });
  });

  it('feeds the correction handler and the DLQ processor from their queues with partial batch response', () => {
    const sqsMappings = resourcesOf(synth.lambda, 'AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      JSON.stringify(mapping.Properties?.EventSourceArn).includes('Corrections'),
    );
    assert.equal(sqsMappings.length, 2);
    for (const [id, mapping] of sqsMappings) {
      assert.deepEqual(mapping.Properties?.FunctionResponseTypes, ['ReportBatchItemFailures'], id);
    }
  });

  it('runs no ECS service and no VPC', () => {
    synth.lambda.resourceCountIs('AWS::ECS::Service', 0);
    synth.lambda.resourceCountIs('AWS::EC2::VPC', 0);
  });

  it('serves the model from an isolated container on a KMS-encrypted endpoint', () => {
    synth.lambda.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: true });
    synth.lambda.hasResourceProperties('AWS::SageMaker::EndpointConfig', { KmsKeyId: Match.anyValue() });
    synth.lambda.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: DEFAULT_NAMES.modelEndpoint,
    });
  });
});

describe('operations', () => {
  function operationsAlarms(template: Template): [string, Resource][] {
    return resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('Operations'));
  }

  it('notifies the encrypted alarm topic from every pipeline alarm', () => {
    for (const [variant, count] of [
      [synth.fargate, 9],
      [synth.lambda, 11],
    ] as const) {
      const topics = resourcesOf(variant, 'AWS::SNS::Topic');
      assert.equal(topics.length, 1);
      const [topicId, topic] = topics[0]!;
      assert.ok(topic.Properties?.KmsMasterKeyId, 'topic encrypted');
      const alarms = operationsAlarms(variant);
      // iterator age, processing errors, DLQ backlog, correction failures, must-stay-empty queues
      // (EventBridge target DLQ, the two poison queues, + Lambda on-failure), 2 deliveries,
      // and the model endpoint where a model is deployed (the Lambda variant)
      assert.equal(alarms.length, count);
      for (const [id, alarm] of alarms)
        assert.deepEqual(alarm.Properties?.AlarmActions, [{ Ref: topicId }], id);
    }
  });

  it('alarms on consumer lag, DLQ depth and Firehose delivery failures', () => {
    synth.fargate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Kinesis',
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Threshold: 300_000,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    synth.lambda.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Threshold: 300_000,
    });
    synth.fargate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1000,
    });
    // What the correction loop could not heal: the metric the DLQ processor publishes (no dimensions).
    synth.fargate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: [
        Match.objectLike({
          MetricStat: {
            Metric: {
              Namespace: 'Fleetstream',
              MetricName: 'CorrectionFailures',
              Dimensions: Match.absent(),
            },
            Period: 300,
            Stat: 'Sum',
          },
        }),
      ],
    });
    const deliveryAlarms = operationsAlarms(synth.fargate).filter(
      // The label is a token (the stream's name), so CDK renders these alarms in the `Metrics` form.
      ([, alarm]) =>
        JSON.stringify(alarm.Properties?.Metrics ?? null).includes('"MetricName":"DeliveryToS3.Success"'),
    );
    assert.equal(deliveryAlarms.length, 2);
    for (const [id, alarm] of deliveryAlarms) {
      assert.equal(alarm.Properties?.ComparisonOperator, 'LessThanThreshold', id);
      assert.equal(alarm.Properties?.Threshold, 1, id);
    }
  });

  it('puts the pipeline vital signs on one dashboard', () => {
    const dashboards = resourcesOf(synth.fargate, 'AWS::CloudWatch::Dashboard');
    assert.equal(dashboards.length, 1);
    const body = JSON.stringify(dashboards[0]![1].Properties?.DashboardBody);
    for (const title of [
      'Incoming records',
      'Iterator age',
      'Processing errors',
      'Anomaly rate',
      'Corrections',
      'Queue depth',
      'Firehose delivery success',
    ]) {
      assert.ok(body.includes(title), title);
    }
  });
});

describe('model review operations', () => {
  it('alarms when the stream has decided without the model for five minutes, and charts the review', () => {
    const [alarm] = resourcesOf(synth.lambda, 'AWS::CloudWatch::Alarm').filter(([id]) =>
      id.startsWith('OperationsModelUnavailable'),
    );
    assert.ok(alarm !== undefined, 'a ModelUnavailable alarm');
    assert.equal(alarm[1].Properties?.Threshold, 1);
    assert.equal(alarm[1].Properties?.EvaluationPeriods, 5);
    assert.equal(alarm[1].Properties?.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    // The metric carries a label, so CDK renders the alarm in the `Metrics` form.
    const metric = JSON.stringify(alarm[1].Properties?.Metrics);
    for (const part of [
      `"Namespace":"${METRICS_NAMESPACE}"`,
      `"MetricName":"${METRIC_NAMES.model.breakerOpen}"`,
      '"Name":"Runtime","Value":"lambda"',
      '"Stat":"Maximum"',
    ]) {
      assert.ok(metric.includes(part), `${part} in ${metric}`);
    }
    const body = (template: Template) =>
      JSON.stringify(resourcesOf(template, 'AWS::CloudWatch::Dashboard')[0]![1].Properties?.DashboardBody);
    for (const name of [
      METRIC_NAMES.model.confirmed,
      METRIC_NAMES.model.dismissed,
      METRIC_NAMES.model.requests,
    ]) {
      assert.ok(body(synth.lambda).includes(name), name);
      assert.ok(!body(synth.fargate).includes(name), `no model, no ${name}`);
    }
  });
});

describe('template snapshot', () => {
  it('matches the stored snapshot of the default stack (asset hashes normalised)', () => {
    const normalised = `${JSON.stringify(synth.fargateJson, null, 2).replace(/[0-9a-f]{64}/g, '<asset-hash>')}\n`;
    if (process.env.UPDATE_SNAPSHOTS === '1') writeFileSync(SNAPSHOT, normalised);
    assert.ok(
      existsSync(SNAPSHOT),
      'no snapshot yet: run UPDATE_SNAPSHOTS=1 node scripts/run-tests.mjs test/infra/stack and review the diff',
    );
    assert.equal(
      normalised,
      readFileSync(SNAPSHOT, 'utf8'),
      'template changed: review it, then UPDATE_SNAPSHOTS=1 node scripts/run-tests.mjs test/infra/stack',
    );
  });
});
