import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry, setOwnEntry } from '../../wire/own.ts';
import { busArn, type EventBridgeContext } from '../model.ts';

export function createEventBus(context: EventBridgeContext, input: JsonObject): JsonObject {
  const name = new Fields(input, 'ValidationException').string('Name', {
    min: 1,
    max: 256,
    pattern: /^[/.\-_A-Za-z0-9]+$/,
  });
  if (name === 'default')
    throw new ServiceError('ValidationException', 'The default event bus already exists.');
  if (ownEntry(context.store.state.buses, name) !== undefined) {
    throw new ServiceError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
  }
  const arn = busArn(context, name);
  setOwnEntry(context.store.state.buses, name, { name, arn, rules: {} });
  context.store.changed();
  return { EventBusArn: arn };
}
