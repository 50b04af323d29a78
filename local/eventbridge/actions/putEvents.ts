import { randomUUID } from 'node:crypto';
import { Fields } from '../../wire/fields.ts';
import { type JsonObject, ServiceError } from '../../wire/json-server.ts';
import { ownEntry } from '../../wire/own.ts';
import { type BusState, DEFAULT_BUS, type EventBridgeContext, type EventEnvelope } from '../model.ts';
import { type EventPattern, matchesPattern, parseEventPattern } from '../pattern.ts';

/** PutEvents quotas (EventBridge user guide): 10 entries and 256 KB per request. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;
/** An entry's Time counts as 14 bytes in the size calculation, whatever its value. */
const TIME_BYTES = 14;

/** Patterns were validated by PutRule; parse each distinct text once, not per event. */
const parsedPatterns = new Map<string, EventPattern>();

function patternOf(text: string): EventPattern {
  let pattern = parsedPatterns.get(text);
  if (pattern === undefined) {
    pattern = parseEventPattern(text);
    parsedPatterns.set(text, pattern);
  }
  return pattern;
}

interface EntryFailure {
  readonly ErrorCode: string;
  readonly ErrorMessage: string;
}

/** Latest instant a JavaScript Date holds (8.64e15 ms), in the epoch seconds the JSON protocol sends. */
const MAX_TIME_SECONDS = 8.64e12;

/**
 * Member types, checked for the whole request as the service's deserializer does: a Time that is not a
 * timestamp or a Resources that is not a list of strings is refused, never ignored. Missing or empty
 * members are left to the per-entry checks, which EventBridge reports entry by entry.
 */
function checkEntryTypes(entry: Fields): JsonObject {
  for (const name of ['Source', 'DetailType', 'Detail', 'EventBusName', 'TraceHeader'])
    entry.optionalString(name);
  entry.optionalStringArray('Resources');
  const time = entry.input.Time;
  if (
    time !== undefined &&
    time !== null &&
    (typeof time !== 'number' || !Number.isFinite(time) || Math.abs(time) > MAX_TIME_SECONDS)
  ) {
    entry.fail(`Time must be a timestamp in epoch seconds, got ${JSON.stringify(time)}`);
  }
  return entry.input;
}

/** The entry's size as EventBridge computes it for the 256 KB limit. */
function entrySize(entry: JsonObject): number {
  let size = entry.Time === undefined || entry.Time === null ? 0 : TIME_BYTES;
  for (const field of ['Source', 'DetailType', 'Detail']) {
    const value = entry[field];
    if (typeof value === 'string') size += Buffer.byteLength(value, 'utf8');
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources)
      if (typeof resource === 'string') size += Buffer.byteLength(resource, 'utf8');
  }
  return size;
}

function required(name: string): EntryFailure {
  return {
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
  };
}

/** Validates one entry; returns the envelope to route, or the per-entry failure EventBridge reports. */
function toEnvelope(
  context: EventBridgeContext,
  entry: JsonObject,
): { bus: BusState; envelope: EventEnvelope } | EntryFailure {
  const {
    Source: source,
    DetailType: detailType,
    Detail: detailText,
    Time: time,
    Resources: resources,
  } = entry;
  if (typeof source !== 'string' || source === '') return required('Source');
  if (typeof detailType !== 'string' || detailType === '') return required('DetailType');
  if (typeof detailText !== 'string' || detailText === '') return required('Detail');
  if (source.startsWith('aws.')) {
    return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(detailText);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  const busName = (typeof entry.EventBusName === 'string' ? entry.EventBusName : DEFAULT_BUS)
    .split('/')
    .pop()!;
  const bus = ownEntry(context.store.state.buses, busName);
  if (bus === undefined) {
    return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
  }
  const timeMs = typeof time === 'number' ? time * 1000 : context.now();
  return {
    bus,
    envelope: {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: context.accountId,
      // EventBridge writes whole seconds in UTC.
      time: new Date(Math.floor(timeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      region: context.region,
      resources: Array.isArray(resources) ? resources.filter((r): r is string => typeof r === 'string') : [],
      detail,
    },
  };
}

export function putEvents(context: EventBridgeContext, input: JsonObject): JsonObject {
  const fields = new Fields(input, 'ValidationException');
  const entries = fields
    .array('Entries')
    .map((entry, index) => checkEntryTypes(fields.nested(entry, `entries.${index + 1}`)));
  if (entries.length < 1 || entries.length > MAX_ENTRIES) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`}`,
    );
  }
  const totalBytes = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (totalBytes > MAX_REQUEST_BYTES) {
    throw new ServiceError(
      'ValidationException',
      'Total size of the entries in the request is over the limit.',
    );
  }

  let failed = 0;
  const results = entries.map((entry) => {
    const outcome = toEnvelope(context, entry);
    if ('ErrorCode' in outcome) {
      failed += 1;
      return outcome;
    }
    for (const rule of Object.values(outcome.bus.rules)) {
      if (rule.state !== 'ENABLED') continue;
      if (!matchesPattern(patternOf(rule.eventPattern), outcome.envelope)) continue;
      for (const target of Object.values(rule.targets))
        context.dispatch({ envelope: outcome.envelope, rule, target });
    }
    return { EventId: outcome.envelope.id };
  });
  return { FailedEntryCount: failed, Entries: results };
}
