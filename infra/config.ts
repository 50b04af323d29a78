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
 * | `replayId`               | adds a replay consumer with this id (see below)     | no replay      |
 * | `replayFrom`             | `TRIM_HORIZON` or an ISO-8601 instant with a zone   | `TRIM_HORIZON` |
 * | `replayOutput`           | `replay` (`replay/<id>/results/`) or `results`      | `replay`       |
 * | `replayTasks`            | Fargate tasks of the replay, 1–100                  | 1              |
 *
 * A replay id is 1–32 lower-case letters, digits and inner hyphens; the other `replay*` keys need it. An
 * instant starts the replay at AT_TIMESTAMP and must not lie in the future (Kinesis refuses those).
 *
 * Both correction functions are always deployed; the defaults are the repository's own entries,
 * `anomaly/correction/lambda/request-handler.ts` and `anomaly/correction/lambda/dlq-processor.ts`.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ConfigError } from '../consumers/contract/errors.ts';
import { parseInstant } from '../consumers/contract/instant.ts';
import { type ReplayOptions, type ReplayStart, validateReplayId } from './constructs/replay-consumer.ts';
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

function replayStart(read: ContextReader, now: number): ReplayStart | undefined {
  const raw = text(read, 'replayFrom');
  if (raw === undefined) return undefined;
  if (raw.toUpperCase().replace('-', '_') === 'TRIM_HORIZON') return { type: 'TRIM_HORIZON' };
  // Strict, and with a zone: Date.parse would roll February 30 into March and read a zoneless time as local.
  const ms = parseInstant(raw);
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `context 'replayFrom' must be TRIM_HORIZON or an ISO-8601 instant with a zone (e.g. 2026-11-23T18:00:00Z), got '${raw}'`,
    );
  }
  if (ms > now) throw new ConfigError(`context 'replayFrom' is in the future: '${raw}'`);
  return { type: 'AT_TIMESTAMP', at: new Date(ms) };
}

function replayOptions(read: ContextReader, now: number): ReplayOptions | undefined {
  const id = text(read, 'replayId');
  const from = replayStart(read, now);
  const output = oneOf(read, 'replayOutput', ['replay', 'results'] as const);
  const tasks = integer(read, 'replayTasks', 1, 100);
  if (id === undefined) {
    const given = ['replayFrom', 'replayOutput', 'replayTasks'].filter(
      (key) => text(read, key) !== undefined,
    );
    if (given.length > 0) throw new ConfigError(`context '${given[0]}' needs 'replayId'`);
    return undefined;
  }
  return { id: validateReplayId(id, "context 'replayId'"), from, output, tasks };
}

/**
 * Reads and validates the app's parameters; throws ConfigError on the first unusable one. `now` (epoch ms)
 * is what a replay instant must not lie after.
 */
export function stackPropsFromContext(read: ContextReader, now = Date.now()): FleetstreamStackProps {
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
  const consumer = oneOf(read, 'consumer', ['fargate', 'lambda'] as const);
  const replay = replayOptions(read, now);
  if (replay?.tasks !== undefined && consumer === 'lambda') {
    throw new ConfigError("context 'replayTasks' is for consumer=fargate; Lambda scales per shard by itself");
  }
  const repoPath = (key: string): string | undefined => {
    const relative = text(read, key);
    return relative === undefined ? undefined : path.resolve(REPO_ROOT, relative);
  };

  return {
    consumer,
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
    replay,
  };
}
