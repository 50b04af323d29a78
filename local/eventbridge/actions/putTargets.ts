import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry, setOwnEntry } from '../../wire/own.ts';
import {
  busByName,
  type EventBridgeContext,
  isSupportedJsonPath,
  ruleByName,
  type TargetState,
} from '../model.ts';

/** EventBridge quota: five targets per rule. */
const MAX_TARGETS_PER_RULE = 5;

function parseTarget(fields: Fields, value: unknown, index: number): TargetState {
  const target = fields.nested(value, `targets.${index}`);
  const parsed: TargetState = {
    Id: target.string('Id', { min: 1, max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ }),
    Arn: target.string('Arn', { min: 1, max: 1600 }),
  };
  const roleArn = target.optionalString('RoleArn');
  if (roleArn !== undefined) parsed.RoleArn = roleArn;
  const kinesis = target.optionalObject('KinesisParameters');
  if (kinesis !== undefined) {
    const path = target.nested(kinesis, 'KinesisParameters').string('PartitionKeyPath', { max: 256 });
    if (!isSupportedJsonPath(path)) {
      throw new ServiceError(
        'ValidationException',
        `PartitionKeyPath ${path} must be a JSONPath like $.detail.deviceId`,
      );
    }
    parsed.KinesisParameters = { PartitionKeyPath: path };
  }
  const deadLetter = target.optionalObject('DeadLetterConfig');
  if (deadLetter !== undefined) {
    const arn = target.nested(deadLetter, 'DeadLetterConfig').string('Arn');
    if (!arn.startsWith('arn:aws:sqs:'))
      throw new ServiceError('ValidationException', 'DeadLetterConfig.Arn must be an SQS queue ARN');
    parsed.DeadLetterConfig = { Arn: arn };
  }
  const retry = target.optionalObject('RetryPolicy');
  if (retry !== undefined) {
    const policy = target.nested(retry, 'RetryPolicy');
    parsed.RetryPolicy = {};
    const attempts = policy.optionalInteger('MaximumRetryAttempts', 0, 185);
    const age = policy.optionalInteger('MaximumEventAgeInSeconds', 60, 86_400);
    if (attempts !== undefined) parsed.RetryPolicy.MaximumRetryAttempts = attempts;
    if (age !== undefined) parsed.RetryPolicy.MaximumEventAgeInSeconds = age;
  }
  const inputPath = target.optionalString('InputPath', { max: 256 });
  if (inputPath !== undefined) {
    if (!isSupportedJsonPath(inputPath))
      throw new ServiceError('ValidationException', `InputPath ${inputPath} is not supported`);
    parsed.InputPath = inputPath;
  }
  const constant = target.optionalString('Input', { max: 8192 });
  if (constant !== undefined) parsed.Input = constant;
  if (target.optionalObject('InputTransformer') !== undefined) {
    throw new ServiceError('ValidationException', 'InputTransformer is not supported by the local stand-in.');
  }
  return parsed;
}

/** Adds or replaces targets; a target the stand-in cannot deliver to fails alone, as in EventBridge. */
export function putTargets(context: EventBridgeContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const rule = ruleByName(busByName(context, fields.optionalString('EventBusName')), fields.string('Rule'));
  const targets = fields.array('Targets');
  if (targets.length < 1 || targets.length > 100) {
    throw new ServiceError('ValidationException', 'Targets must have between 1 and 100 members.');
  }
  const FailedEntries: JsonObject[] = [];
  for (const [index, value] of targets.entries()) {
    const target = parseTarget(fields, value, index);
    if (!/^arn:aws:(kinesis|sqs):/.test(target.Arn)) {
      FailedEntries.push({
        TargetId: target.Id,
        ErrorCode: 'ValidationException',
        ErrorMessage: 'only Kinesis stream and SQS queue targets are supported locally',
      });
      continue;
    }
    if (
      ownEntry(rule.targets, target.Id) === undefined &&
      Object.keys(rule.targets).length >= MAX_TARGETS_PER_RULE
    ) {
      throw new ServiceError(
        'LimitExceededException',
        `The requested resource exceeds the maximum number allowed.`,
      );
    }
    setOwnEntry(rule.targets, target.Id, target);
  }
  context.store.changed();
  return { FailedEntryCount: FailedEntries.length, FailedEntries };
}
