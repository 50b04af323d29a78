import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { busByName, describeRule, type EventBridgeContext } from '../model.ts';

export function listRules(context: EventBridgeContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const bus = busByName(context, fields.optionalString('EventBusName'));
  const prefix = fields.optionalString('NamePrefix') ?? '';
  const rules = Object.values(bus.rules)
    .filter((rule) => rule.name.startsWith(prefix))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { Rules: rules.map(describeRule) };
}
