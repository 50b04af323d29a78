/**
 * Configuration of the two correction functions (request handler, DLQ processor), read and validated once
 * per container from the environment. The variable names are infra/names.ts `RUNTIME_ENV`'s;
 * test/correction/lambda.test.ts feeds those names to this parser, so a rename on either side fails a test.
 */
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AwsServiceName } from '../../../consumers/aws/clients.ts';
import { ConfigError } from '../../../consumers/contract/errors.ts';
import { DEFAULT_NAMES } from '../../../consumers/contract/routing.ts';
import { endpointsFromEnv, nonEmpty } from '../../../consumers/runtimes/env.ts';
import { CORRECTION_NAMES } from '../names.ts';
import type { CorrectionQueueUrls } from '../queues.ts';
import type { StoreBuckets } from '../s3-store.ts';

export interface CorrectionLambdaConfig {
  /** Env `AWS_REGION`. @default 'us-east-1' */
  readonly region: string;
  /** Env `FLEETSTREAM_ENDPOINT_<SERVICE>`. @default AWS regional endpoints */
  readonly endpoints: Partial<Record<AwsServiceName, string>>;
  /** Env `FLEETSTREAM_CORRECTIONS_QUEUE_URL`. @default resolved at start from the queue named 'fleetstream-corrections' */
  readonly queueUrl: string | undefined;
  /** Env `FLEETSTREAM_CORRECTIONS_DLQ_URL`. @default resolved at start from 'fleetstream-corrections-dlq' */
  readonly deadLetterQueueUrl: string | undefined;
  /** Env `FLEETSTREAM_CORRECTION_TABLE`. @default 'fleetstream-corrections' */
  readonly table: string;
  /** Env `FLEETSTREAM_BUCKET`: the one bucket of every data class without a bucket of its own. @default 'fleetstream-data' */
  readonly bucket: string;
  /** Env `FLEETSTREAM_RESULTS_BUCKET`, `FLEETSTREAM_RAW_BUCKET`, `FLEETSTREAM_FAILURES_BUCKET`. @default `bucket` */
  readonly buckets: Required<StoreBuckets>;
  /** Env `FLEETSTREAM_CORRECTION_DLQ_MAX_ATTEMPTS`, an integer ≥ 1. @default 5 */
  readonly maxDeadLetterAttempts: number;
}

export function correctionLambdaConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CorrectionLambdaConfig {
  const optional = (name: string): string | undefined =>
    env[name] === undefined ? undefined : nonEmpty(env, name, '');
  const bucket = nonEmpty(env, 'FLEETSTREAM_BUCKET', DEFAULT_NAMES.bucket);
  const attemptsText = env.FLEETSTREAM_CORRECTION_DLQ_MAX_ATTEMPTS;
  const maxDeadLetterAttempts = attemptsText === undefined ? 5 : Number(attemptsText);
  if (attemptsText?.trim() === '' || !Number.isInteger(maxDeadLetterAttempts) || maxDeadLetterAttempts < 1)
    throw new ConfigError(
      `FLEETSTREAM_CORRECTION_DLQ_MAX_ATTEMPTS must be an integer ≥ 1, got '${attemptsText}'`,
    );
  return {
    region: nonEmpty(env, 'AWS_REGION', 'us-east-1'),
    endpoints: endpointsFromEnv(env),
    queueUrl: optional('FLEETSTREAM_CORRECTIONS_QUEUE_URL'),
    deadLetterQueueUrl: optional('FLEETSTREAM_CORRECTIONS_DLQ_URL'),
    table: nonEmpty(env, 'FLEETSTREAM_CORRECTION_TABLE', CORRECTION_NAMES.table),
    bucket,
    buckets: {
      results: nonEmpty(env, 'FLEETSTREAM_RESULTS_BUCKET', bucket),
      raw: nonEmpty(env, 'FLEETSTREAM_RAW_BUCKET', bucket),
      failures: nonEmpty(env, 'FLEETSTREAM_FAILURES_BUCKET', bucket),
    },
    maxDeadLetterAttempts,
  };
}

/** The queue URLs, looking up by name (once, at cold start) whichever the environment left out. */
export async function resolveQueueUrls(
  sqs: SQSClient,
  config: Pick<CorrectionLambdaConfig, 'queueUrl' | 'deadLetterQueueUrl'>,
): Promise<CorrectionQueueUrls> {
  const byName = async (name: string): Promise<string> => {
    const { QueueUrl: url } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (url === undefined) throw new ConfigError(`queue ${name} could not be resolved`);
    return url;
  };
  return {
    queueUrl: config.queueUrl ?? (await byName(CORRECTION_NAMES.queue)),
    deadLetterQueueUrl: config.deadLetterQueueUrl ?? (await byName(CORRECTION_NAMES.deadLetterQueue)),
  };
}
