import { Fields } from '../../wire/fields.ts';
import type { JsonObject } from '../../wire/json-server.ts';
import { busByName, type EventBridgeContext } from '../model.ts';

export function describeEventBus(context: EventBridgeContext, input: JsonObject): JsonObject {
  const bus = busByName(context, new Fields(input, 'ValidationException').optionalString('Name'));
  return { Name: bus.name, Arn: bus.arn };
}
