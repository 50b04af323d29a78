/**
 * EventBridge stand-in (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Action>`): buses, rules with event
 * patterns, Kinesis/SQS targets. Matched events go out through the real Kinesis and SQS clients.
 * Router and wiring only; each action lives in `actions/`.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type Action, closeServer, createJsonService, type JsonService } from '../wire/json-server.ts';
import { loadState } from '../wire/state-file.ts';
import { createEventBus } from './actions/createEventBus.ts';
import { describeEventBus } from './actions/describeEventBus.ts';
import { describeRule } from './actions/describeRule.ts';
import { listRules } from './actions/listRules.ts';
import { listTargetsByRule } from './actions/listTargetsByRule.ts';
import { putEvents } from './actions/putEvents.ts';
import { putRule } from './actions/putRule.ts';
import { putTargets } from './actions/putTargets.ts';
import { type DeliveryFailure, type DeliveryStats, TargetDispatcher } from './delivery.ts';
import { type EventBridgeContext, type EventBridgeState, initialState } from './model.ts';

export type { DeliveryFailure, DeliveryStats } from './delivery.ts';

const actions: Record<string, Action<EventBridgeContext>> = {
  CreateEventBus: createEventBus,
  DescribeEventBus: describeEventBus,
  PutRule: putRule,
  DescribeRule: describeRule,
  ListRules: listRules,
  PutTargets: putTargets,
  ListTargetsByRule: listTargetsByRule,
  PutEvents: putEvents,
};

/** How long close() waits for queued deliveries before giving up on them. */
const CLOSE_GRACE_MS = 2000;

export interface EventBridgeStandInOptions {
  readonly region: string;
  readonly accountId: string;
  /** Client for Kinesis targets (kinesalite locally). */
  readonly kinesis: KinesisClient;
  /** Client for SQS targets and dead-letter queues. */
  readonly sqs: SQSClient;
  /** JSON file holding buses, rules and targets across restarts (events in delivery are not kept). @default in-memory */
  readonly statePath?: string;
  /** First retry delay of a failed delivery, ms; doubles per attempt. @default 100 */
  readonly retryBaseDelayMs?: number;
}

export interface EventBridgeStandIn {
  readonly service: JsonService;
  /** Resolves once every event accepted so far was delivered, dead-lettered or reported. */
  drain(): Promise<void>;
  /** Events that went to a DLQ or could not be delivered at all (most recent 1000). */
  failures(): readonly DeliveryFailure[];
  stats(): Readonly<DeliveryStats>;
  close(): Promise<void>;
}

export function createEventBridgeStandIn(options: EventBridgeStandInOptions): EventBridgeStandIn {
  const identity = { region: options.region, accountId: options.accountId };
  const store = loadState<EventBridgeState>(options.statePath, () => initialState(identity));
  const dispatcher = new TargetDispatcher({
    kinesis: options.kinesis,
    sqs: options.sqs,
    ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }),
  });
  const context: EventBridgeContext = {
    ...identity,
    store,
    now: () => Date.now(),
    dispatch: (event) => dispatcher.dispatch(event),
  };
  const service = createJsonService({
    targetPrefix: 'AWSEvents',
    contentType: 'application/x-amz-json-1.1',
    actions,
    context,
  });
  return {
    service,
    drain: () => dispatcher.drain(),
    failures: () => dispatcher.failures(),
    stats: () => ({ ...dispatcher.stats }),
    async close() {
      await closeServer(service.server);
      // Give accepted events a moment to reach Kinesis before the stack closes it, but do not wait out a
      // failing target's retry schedule: whatever is still queued then is reported as lost.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        dispatcher.drain(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      await dispatcher.stop();
      store.flush();
    },
  };
}
