/**
 * Synthesizes the two stack variants the infrastructure tests check, once per test file: the default
 * (Fargate KCL consumer, the repository's correction functions) and the fully-optioned one (Lambda
 * consumer, correction handler and DLQ processor entries overridden, SageMaker endpoint). cdk-nag runs on
 * both; app.synth() throws on any unacknowledged finding.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FleetstreamStack } from '../../infra/stack.ts';

const FIXTURE_HANDLER = path.join(import.meta.dirname, 'fixtures', 'handler.ts');

export interface SynthesizedVariants {
  readonly outdir: string;
  readonly fargate: Template;
  readonly lambda: Template;
  readonly fargateJson: Record<string, unknown>;
}

export function synthesizeVariants(): SynthesizedVariants {
  const outdir = mkdtempSync(path.join(tmpdir(), 'fleetstream-cdk-'));
  // Skipping bundling keeps the tests independent of handler code and of esbuild's speed.
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  // No CDK metadata resource: it encodes the library version and would churn the snapshot.
  new FleetstreamStack(app, 'Fargate', { analyticsReporting: false });
  new FleetstreamStack(app, 'Lambda', {
    analyticsReporting: false,
    consumer: 'lambda',
    lambda: { entry: FIXTURE_HANDLER },
    correctionHandlerEntry: FIXTURE_HANDLER,
    dlqProcessorEntry: FIXTURE_HANDLER,
    model: {
      imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/fleetstream-rcf:1.0.0',
      modelDataUrl: 's3://fleetstream-models/rcf/model.tar.gz',
    },
    alarmEmail: 'ops@example.com',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const fargateJson = assembly.getStackByName('Fargate').template as Record<string, unknown>;
  return {
    outdir,
    fargate: Template.fromJSON(fargateJson),
    lambda: Template.fromJSON(assembly.getStackByName('Lambda').template as Record<string, unknown>),
    fargateJson,
  };
}
