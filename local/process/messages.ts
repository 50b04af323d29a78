/**
 * The IPC protocol between `startLocalStackProcess` (parent) and `stack-main.ts` (child): the child
 * announces what it serves once, then answers numbered requests for the stack's operator actions.
 */
import type { DeliveryStats } from '../eventbridge/delivery.ts';
import type { LocalEndpoints } from '../stack.ts';

/** What a child runs: the whole stack (optionally without Kinesis), or kinesalite alone. */
export type ChildRole = 'stack' | 'kinesis';

export type StackRequest =
  | { readonly id: number; readonly op: 'flushFirehose' }
  | { readonly id: number; readonly op: 'drainEventBridge' }
  | { readonly id: number; readonly op: 'eventBridgeStats' }
  | { readonly id: number; readonly op: 'cpuMicros' }
  | { readonly id: number; readonly op: 'stop' };

export type ReplyValue = number | DeliveryStats | null;

export type StackReply =
  | {
      readonly type: 'ready';
      /** Every service for the `stack` role; only `kinesis` for the `kinesis` role. */
      readonly endpoints: Partial<LocalEndpoints>;
      readonly region: string;
      readonly credentials: { accessKeyId: string; secretAccessKey: string };
    }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'reply'; readonly id: number; readonly value: ReplyValue }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
