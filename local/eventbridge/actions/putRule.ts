import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry, setOwnEntry } from '../../wire/own.ts';
import { busByName, type EventBridgeContext, ruleArn } from '../model.ts';
import { EventPatternError, parseEventPattern } from '../pattern.ts';

/** Creates or updates a rule (PutRule is an upsert); targets of an existing rule are kept. */
export function putRule(context: EventBridgeContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const name = fields.string('Name', { min: 1, max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ });
  const bus = busByName(context, fields.optionalString('EventBusName'));
  const eventPattern = fields.optionalString('EventPattern', { max: 4096 });
  if (fields.optionalString('ScheduleExpression') !== undefined) {
    throw new ServiceError(
      'ValidationException',
      'ScheduleExpression is not supported by the local stand-in.',
    );
  }
  if (eventPattern === undefined) {
    throw new ServiceError(
      'ValidationException',
      'Parameter(s) EventPattern or ScheduleExpression must be specified.',
    );
  }
  try {
    parseEventPattern(eventPattern);
  } catch (error) {
    if (error instanceof EventPatternError) {
      throw new ServiceError(
        'InvalidEventPatternException',
        `Event pattern is not valid. Reason: ${error.message}`,
      );
    }
    throw error;
  }
  const state = fields.optionalString('State') ?? 'ENABLED';
  if (state !== 'ENABLED' && state !== 'DISABLED') {
    throw new ServiceError('ValidationException', `State ${state} must be ENABLED or DISABLED.`);
  }
  const existing = ownEntry(bus.rules, name);
  const arn = ruleArn(context, bus.name, name);
  const description = fields.optionalString('Description', { max: 512 });
  setOwnEntry(bus.rules, name, {
    name,
    arn,
    eventBusName: bus.name,
    eventPattern,
    state,
    ...(description === undefined ? {} : { description }),
    targets: existing?.targets ?? {},
  });
  context.store.changed();
  return { RuleArn: arn };
}
