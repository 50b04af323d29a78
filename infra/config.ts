/**
 * CDK context → stack props, validated once. Every value arrives as a string from `-c key=value` (or a
 * JSON value from cdk.json); anything unusable stops the synth with a ConfigError naming the key.
 *
 * | context key              | meaning                                             | default        |
 * | ------------------------ | --------------------------------------------------- | -------------- |
 * | `consumer`               | `fargate` (KCL MultiLangDaemon) or `lambda`         | `fargate`      |
 * | `shards`                 | provisioned shard count; absent = on-demand stream  | on-demand      |
 * | `retentionHours`         | stream retention = replay window, 24–8760 hours     | 168            |
 * | `initialPosition`        | `TRIM_HORIZON` or `LATEST`                          | `TRIM_HORIZON` |
 * | `modelImageUri`          | SageMaker inference image (with `modelDataUrl`)     | no endpoint    |
 * | `modelDataUrl`           | `s3://…/model.tar.gz` (with `modelImageUri`)        | no endpoint    |
 * | `modelInstanceType`      | SageMaker instance type                             | `ml.m5.large`  |
 * | `alarmEmail`             | e-mail subscribed to the alarm topic                | none           |
 * | `removalPolicy`          | `retain` or `destroy` (stateful resources)          | `retain`       |
 * | `maxTasks`               | Fargate scaling ceiling                             | 4              |
 * | `correctionHandlerEntry` | correction handler module, repo-relative            | see below      |
 * | `dlqProcessorEntry`      | DLQ processor module, repo-relative                 | see below      |
 *
 * Both correction functions are always deployed; the defaults are the repository's own entries,
 * `anomaly/correction/lambda/request-handler.ts` and `anomaly/correction/lambda/dlq-processor.ts`.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ConfigError } from '../consumers/contract/errors.ts';
import { REPO_ROOT } from './constructs/stream-consumers.ts';
import type { FleetstreamStackProps } from './stack.ts';

type ContextReader = (key: string) => unknown;

function text(read: ContextReader, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new ConfigError(`context '${key}' must be a string, got ${JSON.stringify(value)}`);
  }
  return String(value);
}

function integer(read: ContextReader, key: string, min: number, max: number): number | undefined {
  const raw = text(read, key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`context '${key}' must be an integer in [${min}, ${max}], got '${raw}'`);
  }
  return value;
}

function oneOf<T extends string>(read: ContextReader, key: string, allowed: readonly T[]): T | undefined {
  const raw = text(read, key);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`context '${key}' must be one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

/** Reads and validates the app's parameters; throws ConfigError on the first unusable one. */
export function stackPropsFromContext(read: ContextReader): FleetstreamStackProps {
  // Kinesis retention is 24 hours to 365 days; the shard ceiling is a sanity bound, the quota is per account.
  const shards = integer(read, 'shards', 1, 10_000);
  const retentionHours = integer(read, 'retentionHours', 24, 8760);
  const modelImageUri = text(read, 'modelImageUri');
  const modelDataUrl = text(read, 'modelDataUrl');
  if ((modelImageUri === undefined) !== (modelDataUrl === undefined)) {
    throw new ConfigError("context 'modelImageUri' and 'modelDataUrl' must be given together");
  }
  const modelInstanceType = text(read, 'modelInstanceType');
  const removal = oneOf(read, 'removalPolicy', ['retain', 'destroy'] as const);
  const maxTasks = integer(read, 'maxTasks', 1, 100);
  const repoPath = (key: string): string | undefined => {
    const relative = text(read, key);
    return relative === undefined ? undefined : path.resolve(REPO_ROOT, relative);
  };

  return {
    consumer: oneOf(read, 'consumer', ['fargate', 'lambda'] as const),
    streamCapacity: shards === undefined ? undefined : { mode: 'provisioned', shards },
    streamRetention: retentionHours === undefined ? undefined : Duration.hours(retentionHours),
    initialPosition: oneOf(read, 'initialPosition', ['TRIM_HORIZON', 'LATEST'] as const),
    model:
      modelImageUri && modelDataUrl
        ? { imageUri: modelImageUri, modelDataUrl, instanceType: modelInstanceType }
        : undefined,
    alarmEmail: text(read, 'alarmEmail'),
    removalPolicy:
      removal === 'destroy' ? RemovalPolicy.DESTROY : removal === 'retain' ? RemovalPolicy.RETAIN : undefined,
    fargate: maxTasks === undefined ? undefined : { maxTasks },
    correctionHandlerEntry: repoPath('correctionHandlerEntry'),
    dlqProcessorEntry: repoPath('dlqProcessorEntry'),
  };
}
