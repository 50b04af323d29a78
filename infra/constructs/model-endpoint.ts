/**
 * The SageMaker-served Random Cut Forest: model, endpoint configuration and endpoint for the container
 * built from `models/serving` (the SageMaker inference container contract: GET /ping, POST /invocations).
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';

export interface ModelEndpointProps {
  /** Inference image, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/fleetstream-rcf:1.0.0`. */
  readonly imageUri: string;
  /** Trained model artefact, `s3://bucket/key/model.tar.gz`. */
  readonly modelDataUrl: string;
  /** Encrypts the endpoint's storage volume. */
  readonly encryptionKey: kms.IKey;
  /** @default 'ml.m5.large' */
  readonly instanceType?: string;
  /** @default 1 */
  readonly instanceCount?: number;
  /** @default DEFAULT_NAMES.modelEndpoint ('fleetstream-rcf') */
  readonly endpointName?: string;
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/;
const S3_URL = /^s3:\/\/([^/]+)\/(.+)$/;

export class ModelEndpoint extends Construct {
  readonly endpointName: string;
  readonly endpointArn: string;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const modelData = S3_URL.exec(props.modelDataUrl);
    if (!modelData) throw new Error(`modelDataUrl must be s3://bucket/key, got '${props.modelDataUrl}'`);
    const [, modelBucket = '', modelKey = ''] = modelData;

    this.role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'fleetstream model endpoint: pull the image, read the model artefact, write logs',
    });
    s3.Bucket.fromBucketName(this, 'ModelBucket', modelBucket).grantRead(this.role, modelKey);
    const image = ECR_IMAGE.exec(props.imageUri);
    if (image) {
      const [, account = '', region = '', repositoryName = ''] = image;
      const repositoryArn = Stack.of(this).formatArn({
        service: 'ecr',
        account,
        region,
        resource: 'repository',
        resourceName: repositoryName,
      });
      ecr.Repository.fromRepositoryAttributes(this, 'ImageRepository', {
        repositoryArn,
        repositoryName,
      }).grantPull(this.role);
    }
    this.endpointName = props.endpointName ?? DEFAULT_NAMES.modelEndpoint;
    // SageMaker writes the container's output to this one log group (and its streams).
    const logGroupArn = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/Endpoints/${this.endpointName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroupArn, `${logGroupArn}:*`],
      }),
    );

    const model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: { image: props.imageUri, modelDataUrl: props.modelDataUrl },
      // The model needs no network at inference time; isolation keeps a compromised container in.
      enableNetworkIsolation: true,
    });
    model.node.addDependency(this.role);

    const config = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      kmsKeyId: props.encryptionKey.keyArn,
      productionVariants: [
        {
          variantName: 'AllTraffic',
          modelName: model.attrModelName,
          instanceType: props.instanceType ?? 'ml.m5.large',
          initialInstanceCount: props.instanceCount ?? 1,
          initialVariantWeight: 1,
        },
      ],
    });

    const endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: this.endpointName,
      endpointConfigName: config.attrEndpointConfigName,
    });
    this.endpointArn = endpoint.ref;
  }

  /** Lets a consumer call InvokeEndpoint on this endpoint only. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [this.endpointArn],
    });
  }
}
