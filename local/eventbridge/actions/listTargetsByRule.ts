import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { busByName, type EventBridgeContext, ruleByName } from '../model.ts';

export function listTargetsByRule(context: EventBridgeContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const rule = ruleByName(busByName(context, fields.optionalString('EventBusName')), fields.string('Rule'));
  return { Targets: Object.values(rule.targets) };
}
