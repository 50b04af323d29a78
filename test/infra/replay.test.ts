/**
 * The replay consumer in AWS (`-c replayId=… -c replayFrom=… -c replayOutput=…`): a second consumer
 * application beside the live one, for both runtimes. One synthesis for the file, cdk-nag included (an
 * unacknowledged finding makes app.synth() throw).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { S3_PREFIXES } from '../../consumers/contract/layout.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { stackPropsFromContext } from '../../infra/config.ts';
import { parseProperties, renderProperties } from '../../infra/container/kcl-properties.mjs';
import { KCL_APPLICATION_NAME, RUNTIME_ENV } from '../../infra/names.ts';
import { FleetstreamStack } from '../../infra/stack.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource?: unknown; Condition?: unknown };

const FIXTURE_HANDLER = path.join(import.meta.dirname, 'fixtures', 'handler.ts');
const TEMPLATE_TEXT = `streamName = x\napplicationName = y\ninitialPositionInStream = TRIM_HORIZON\n`;
const FARGATE_ID = 'fix-2025-11-23';
const LAMBDA_ID = 'r1';
// Fractions on purpose: Lambda keeps them, the KCL rounds down to the second.
const FROM = '2025-11-23T18:00:00.250Z';
const FROM_SECONDS = Date.parse(FROM) / 1000;

let outdir: string;
let fargate: Template;
let lambda: Template;
let lambdaTrim: Template;

before(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'fleetstream-replay-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  // Through the context keys, as `cdk deploy -c …` would.
  const context: Record<string, string> = {
    replayId: FARGATE_ID,
    replayFrom: FROM,
    replayTasks: '2',
  };
  new FleetstreamStack(app, 'ReplayFargate', {
    analyticsReporting: false,
    ...stackPropsFromContext((key) => context[key]),
  });
  const lambdaProps = {
    analyticsReporting: false,
    consumer: 'lambda' as const,
    lambda: { entry: FIXTURE_HANDLER },
    correctionHandlerEntry: FIXTURE_HANDLER,
    dlqProcessorEntry: FIXTURE_HANDLER,
  };
  new FleetstreamStack(app, 'ReplayLambda', {
    ...lambdaProps,
    replay: { id: LAMBDA_ID, from: { type: 'AT_TIMESTAMP', at: new Date(FROM) }, output: 'results' },
  });
  new FleetstreamStack(app, 'ReplayLambdaTrim', { ...lambdaProps, replay: { id: 'trim' } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const template = (name: string) =>
    Template.fromJSON(assembly.getStackByName(name).template as Record<string, unknown>);
  fargate = template('ReplayFargate');
  lambda = template('ReplayLambda');
  lambdaTrim = template('ReplayLambdaTrim');
});
after(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type)) as [string, Resource][];
}

/** Logical id of the only resource of `type` whose id matches `pattern`. */
function idOf(template: Template, type: string, pattern: RegExp): string {
  const ids = resourcesOf(template, type)
    .map(([id]) => id)
    .filter((id) => pattern.test(id));
  assert.equal(ids.length, 1, `${type} ${pattern}: ${ids.join(', ')}`);
  return ids[0] as string;
}

/** Statements of the policies attached to the role with this logical id. */
function statementsOf(template: Template, roleId: string): Statement[] {
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles).includes(`"${roleId}"`))
    .flatMap(
      ([, policy]) =>
        (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
    );
}

function environmentOf(container: Record<string, unknown>): Map<string, unknown> {
  const entries = container.Environment as { Name: string; Value: unknown }[];
  return new Map(entries.map((entry) => [entry.Name, entry.Value]));
}

function replayContainer(): Record<string, unknown> {
  const definitions = resourcesOf(fargate, 'AWS::ECS::TaskDefinition').filter(([id]) =>
    id.startsWith('Replay'),
  );
  assert.equal(definitions.length, 1);
  const containers = definitions[0]?.[1].Properties?.ContainerDefinitions as Record<string, unknown>[];
  return containers[0] as Record<string, unknown>;
}

describe('replay consumer on Fargate (KCL MultiLangDaemon)', () => {
  it('adds a second application with its own lease table beside the live one', () => {
    const names = resourcesOf(fargate, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties?.TableName);
    assert.ok(names.includes(KCL_APPLICATION_NAME));
    assert.ok(names.includes(`${KCL_APPLICATION_NAME}-replay-${FARGATE_ID}`));
    fargate.resourceCountIs('AWS::ECS::Service', 2);
    // Same cluster and VPC (one NAT gateway), no second one.
    fargate.resourceCountIs('AWS::ECS::Cluster', 1);
    fargate.resourceCountIs('AWS::EC2::VPC', 1);
  });

  it('starts the daemon at AT_TIMESTAMP with its own application, state scope and outputs', () => {
    const env = environmentOf(replayContainer());
    const replayTable = idOf(fargate, 'AWS::DynamoDB::Table', /^ReplayConsumersLeaseTable/);
    assert.deepEqual(env.get('KCL_APPLICATION_NAME'), { Ref: replayTable });
    assert.equal(env.get('KCL_INITIAL_POSITION'), 'AT_TIMESTAMP');
    assert.equal(env.get('KCL_INITIAL_TIMESTAMP'), FROM);
    assert.equal(env.get(RUNTIME_ENV.stateScope), `${DEFAULT_NAMES.stream}/replay-${FARGATE_ID}`);
    assert.deepEqual(env.get(RUNTIME_ENV.resultsDeliveryStream), {
      Ref: idOf(fargate, 'AWS::KinesisFirehose::DeliveryStream', /^ReplayResultsDelivery/),
    });
    assert.equal(env.has(RUNTIME_ENV.correctionsQueueUrl), false, 'the live run sent the corrections');
  });

  it('renders the container environment into the daemon’s initialPositionInStreamExtended', () => {
    const env = environmentOf(replayContainer());
    const literal = Object.fromEntries([...env].filter(([, value]) => typeof value === 'string')) as Record<
      string,
      string
    >;
    const rendered = parseProperties(
      renderProperties(
        TEMPLATE_TEXT,
        // The stream and table names are references, resolved at deploy time.
        { ...literal, KCL_STREAM_NAME: 's', KCL_APPLICATION_NAME: 'a', AWS_REGION: 'eu-west-1' },
        'node x.mjs',
      ),
    );
    assert.equal(rendered.get('initialPositionInStreamExtended'), String(Math.floor(FROM_SECONDS)));
    assert.equal(rendered.has('initialPositionInStream'), false);
  });

  it('runs a fixed number of tasks and leaves scaling on iterator age to the live service', () => {
    const services = resourcesOf(fargate, 'AWS::ECS::Service');
    const replay = services.filter(([id]) => id.startsWith('Replay'));
    assert.equal(replay.length, 1);
    assert.equal(replay[0]?.[1].Properties?.DesiredCount, 2);
    fargate.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
  });

  it('writes results next to the live ones under replay/<id>/, and its raw copy apart from the archive', () => {
    const prefix = `replay/${FARGATE_ID}/`;
    fargate.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: `${DEFAULT_NAMES.resultsDeliveryStream}-replay-${FARGATE_ID}`,
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: `${prefix}${S3_PREFIXES.results}`,
        ErrorOutputPrefix: `${prefix}${S3_PREFIXES.errors}`,
        DynamicPartitioningConfiguration: Match.objectLike({ Enabled: true }),
      }),
    });
    fargate.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: `${DEFAULT_NAMES.rawDeliveryStream}-replay-${FARGATE_ID}`,
      ExtendedS3DestinationConfiguration: Match.objectLike({ Prefix: `${prefix}${S3_PREFIXES.raw}` }),
    });
    fargate.hasOutput('ReplayResults', {
      Value: { 'Fn::Join': ['', Match.arrayWith([`/replay/${FARGATE_ID}/results/`])] },
    });
  });

  it('grants the replay its own lease table and state prefix, never the live ones', () => {
    const liveTable = idOf(fargate, 'AWS::DynamoDB::Table', /^ConsumersLeaseTable/);
    const replayTable = idOf(fargate, 'AWS::DynamoDB::Table', /^ReplayConsumersLeaseTable/);
    const roleId = idOf(fargate, 'AWS::IAM::Role', /^ReplayConsumersTaskDefinitionTaskRole/);
    const statements = statementsOf(fargate, roleId);
    const text = JSON.stringify(statements);
    assert.ok(text.includes(replayTable), 'its own lease table');
    assert.equal(text.includes(liveTable), false, 'the live lease table is out of reach');
    for (const queue of ['CorrectionsDeadLetterQueue', 'CorrectionsCorrectionsQueue']) {
      assert.equal(text.includes(queue), false, queue);
    }
    const stateResources = statements
      .filter((s) => JSON.stringify(s.Resource).includes('LakeState'))
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
      .map((resource) => JSON.stringify(resource));
    assert.ok(stateResources.length > 0);
    for (const resource of stateResources) {
      assert.ok(
        !resource.includes('/state/') ||
          resource.includes(`/state/${DEFAULT_NAMES.stream}/replay-${FARGATE_ID}/*`),
        resource,
      );
      assert.equal(resource.includes('"/state/*"'), false, resource);
    }
    const metrics = statements.find((s) => s.Action === 'cloudwatch:PutMetricData');
    assert.deepEqual(metrics?.Condition, {
      StringEquals: { 'cloudwatch:namespace': `${KCL_APPLICATION_NAME}-replay-${FARGATE_ID}` },
    });
  });
});

describe('replay consumer on Lambda', () => {
  function mappingOf(template: Template, functionPattern: RegExp): Record<string, unknown> {
    const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').filter(([, m]) =>
      functionPattern.test(JSON.stringify(m.Properties?.FunctionName)),
    );
    assert.equal(mappings.length, 1);
    return mappings[0]?.[1].Properties as Record<string, unknown>;
  }

  it('maps the stream again for the replay function at AT_TIMESTAMP, without a record age limit', () => {
    const replay = mappingOf(lambda, /"ReplayConsumersFunction/);
    assert.equal(replay.StartingPosition, 'AT_TIMESTAMP');
    assert.equal(replay.StartingPositionTimestamp, FROM_SECONDS);
    assert.equal(replay.MaximumRecordAgeInSeconds, undefined, 'a replay reads old records on purpose');
    assert.equal(replay.ParallelizationFactor, 1);
    const live = mappingOf(lambda, /"ConsumersFunction/);
    assert.equal(live.StartingPosition, 'TRIM_HORIZON');
    assert.equal(live.MaximumRecordAgeInSeconds, 3600);
    lambda.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `${DEFAULT_NAMES.stream}-replay-${LAMBDA_ID}-consumer-failures`,
    });
  });

  it('alarms on the replay’s on-failure queue and delivery stream like on the live ones', () => {
    lambda.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('^ReplayLambda/Replay/Consumers/OnFailureQueue'),
    });
    const replayRaw = idOf(lambda, 'AWS::KinesisFirehose::DeliveryStream', /^ReplayRawDelivery/);
    const alarmed = resourcesOf(lambda, 'AWS::CloudWatch::Alarm').some(([, alarm]) =>
      JSON.stringify(alarm.Properties?.Dimensions ?? alarm.Properties?.Metrics).includes(replayRaw),
    );
    assert.ok(alarmed, 'the replay’s raw delivery stream is alarmed');
  });

  it('starts at TRIM_HORIZON when no instant is given', () => {
    const replay = mappingOf(lambdaTrim, /"ReplayConsumersFunction/);
    assert.equal(replay.StartingPosition, 'TRIM_HORIZON');
    assert.equal(replay.StartingPositionTimestamp, undefined);
  });

  it('writes into the live results with output results, keeping its state and rejections apart', () => {
    const fn = resourcesOf(lambda, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('ReplayConsumersFunction'),
    );
    assert.ok(fn);
    const properties = fn[1].Properties as { Environment: { Variables: Record<string, unknown> } };
    const variables = properties.Environment.Variables;
    const liveResults = idOf(lambda, 'AWS::KinesisFirehose::DeliveryStream', /^LakeResultsDelivery/);
    assert.deepEqual(variables[RUNTIME_ENV.resultsDeliveryStream], { Ref: liveResults });
    assert.equal(variables[RUNTIME_ENV.stateScope], `${DEFAULT_NAMES.stream}/replay-${LAMBDA_ID}`);
    assert.deepEqual(variables[RUNTIME_ENV.dlqUrl], {
      Ref: idOf(lambda, 'AWS::SQS::Queue', /^ReplayDeadLetterQueue/),
    });
    assert.equal(RUNTIME_ENV.correctionsQueueUrl in variables, false);
    // Only the raw copy is the replay's own delivery stream; its results go to the live one.
    assert.equal(
      resourcesOf(lambda, 'AWS::KinesisFirehose::DeliveryStream').filter(([id]) => id.startsWith('Replay'))
        .length,
      1,
    );
    lambda.hasOutput('ReplayResults', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['/results/'])] },
    });
  });

  it('grants the replay function only its own state prefix', () => {
    const roleId = idOf(lambda, 'AWS::IAM::Role', /^ReplayConsumersFunctionRole/);
    const text = JSON.stringify(statementsOf(lambda, roleId));
    assert.ok(text.includes(`/state/${DEFAULT_NAMES.stream}/replay-${LAMBDA_ID}/*`));
    assert.equal(text.includes('"/state/*"'), false);
  });
});
