/**
 * One way to build the pipeline's Node.js Lambda functions: ESM bundle, current runtime, an encrypted
 * log group with a retention, and a role that may write to that log group only (instead of the
 * AWS-managed basic execution policy, which allows every log group of the account).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NodeFunctionProps {
  /** Module exporting `handler`. */
  readonly entry: string;
  /** Encrypts the log group. */
  readonly encryptionKey: kms.IKey;
  readonly environment: Record<string, string>;
  /** @default 512 (MiB) */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
}

export class NodeFunction extends Construct {
  readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      environment: props.environment,
      role,
      logGroup,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        sourceMap: true,
        // The SDK versions the lockfile pins and the tests ran, not whatever the Lambda runtime ships.
        bundleAwsSDK: true,
        // Some bundled CommonJS dependencies call require() for Node built-ins, which ESM lacks.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
  }
}
