/**
 * EventBridge stand-in state (buses, rules, targets), the context every action receives, and the
 * small shared rules: ARNs, lookups and the `$.a.b` JSONPath subset targets use.
 */
import { ServiceError } from '../wire/json-server.ts';
import { ownEntry } from '../wire/own.ts';
import type { StateStore } from '../wire/state-file.ts';

export interface TargetState {
  Id: string;
  Arn: string;
  RoleArn?: string;
  KinesisParameters?: { PartitionKeyPath: string };
  DeadLetterConfig?: { Arn: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  InputPath?: string;
  Input?: string;
}

export interface RuleState {
  name: string;
  arn: string;
  eventBusName: string;
  eventPattern: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  targets: Record<string, TargetState>;
}

export interface BusState {
  name: string;
  arn: string;
  rules: Record<string, RuleState>;
}

export interface EventBridgeState {
  buses: Record<string, BusState>;
}

/** The event EventBridge delivers to targets. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface MatchedEvent {
  readonly envelope: EventEnvelope;
  readonly rule: RuleState;
  readonly target: TargetState;
}

export interface EventBridgeContext {
  readonly store: StateStore<EventBridgeState>;
  readonly region: string;
  readonly accountId: string;
  now(): number;
  /** Hands a matched event to its target's delivery queue (asynchronous, like EventBridge). */
  dispatch(event: MatchedEvent): void;
}

export const DEFAULT_BUS = 'default';

export function busArn(context: EventBridgeContext, name: string): string {
  return `arn:aws:events:${context.region}:${context.accountId}:event-bus/${name}`;
}

export function ruleArn(context: EventBridgeContext, busName: string, ruleName: string): string {
  // Rules on the default bus have no bus segment in their ARN.
  const path = busName === DEFAULT_BUS ? ruleName : `${busName}/${ruleName}`;
  return `arn:aws:events:${context.region}:${context.accountId}:rule/${path}`;
}

export function initialState(context: Pick<EventBridgeContext, 'region' | 'accountId'>): EventBridgeState {
  const arn = `arn:aws:events:${context.region}:${context.accountId}:event-bus/${DEFAULT_BUS}`;
  return { buses: { [DEFAULT_BUS]: { name: DEFAULT_BUS, arn, rules: {} } } };
}

/** EventBusName may be a name or an ARN. */
export function busByName(context: EventBridgeContext, nameOrArn: string | undefined): BusState {
  const name = (nameOrArn ?? DEFAULT_BUS).split('/').pop() ?? DEFAULT_BUS;
  const bus = ownEntry(context.store.state.buses, name);
  if (bus === undefined)
    throw new ServiceError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
  return bus;
}

export function ruleByName(bus: BusState, name: string): RuleState {
  const rule = ownEntry(bus.rules, name);
  if (rule === undefined) {
    throw new ServiceError(
      'ResourceNotFoundException',
      `Rule ${name} does not exist on EventBus ${bus.name}.`,
    );
  }
  return rule;
}

const JSON_PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_-]*)+$/;

export function isSupportedJsonPath(path: string): boolean {
  return JSON_PATH.test(path);
}

/** Evaluates `$.a.b`; undefined when any step is missing. */
export function evaluateJsonPath(document: unknown, path: string): unknown {
  let value: unknown = document;
  for (const segment of path.slice(2).split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

export function describeRule(rule: RuleState): Record<string, unknown> {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern,
    State: rule.state,
    EventBusName: rule.eventBusName,
    ...(rule.description === undefined ? {} : { Description: rule.description }),
  };
}
