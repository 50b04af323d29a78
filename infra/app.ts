/**
 * The CDK app behind `npm run synth` / `cdk deploy`. Parameters come from CDK context (`-c key=value` or
 * cdk.json), are validated once in config.ts, and cdk-nag's AwsSolutions checks run on every synth:
 * an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './config.ts';
import { FleetstreamStack } from './stack.ts';

const app = new App();
const props = stackPropsFromContext((key) => app.node.tryGetContext(key));
new FleetstreamStack(app, 'Fleetstream', {
  ...props,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'fleetstream: IoT fleet telemetry → Kinesis → consumers → Firehose → S3, with corrections',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
