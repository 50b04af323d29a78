/**
 * Failure injection at the wire: a test queues faults and the next matching requests are answered with
 * the error a throttled or broken service sends, so client retry and back-off paths run for real
 * (nothing in the code under test is stubbed). Works for the stand-ins and, by wrapping their request
 * listener, for kinesalite and dynalite.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface FaultRule {
  /** Action name from `X-Amz-Target` (e.g. `PutRecordBatch`, `GetRecords`); `*` for any. */
  readonly action: string;
  /** How many calls fail before the rule expires. @default 1 */
  readonly times?: number;
  /** @default 500 */
  readonly statusCode?: number;
  /**
   * The error's `__type`, e.g. `ProvisionedThroughputExceededException` (Kinesis throttling, 400) or
   * `ThrottlingException`. @default 'InternalFailure'
   */
  readonly type?: string;
}

export interface InjectedFault {
  readonly statusCode: number;
  readonly type: string;
}

export class FaultQueue {
  private readonly rules: { action: string; remaining: number; statusCode: number; type: string }[] = [];

  add(rule: FaultRule): void {
    this.rules.push({
      action: rule.action,
      remaining: rule.times ?? 1,
      statusCode: rule.statusCode ?? 500,
      type: rule.type ?? 'InternalFailure',
    });
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The fault for this call, if one is queued; consumes one use of the rule. */
  take(action: string): InjectedFault | undefined {
    const index = this.rules.findIndex((rule) => rule.action === '*' || rule.action === action);
    if (index < 0) return undefined;
    const rule = this.rules[index]!;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules.splice(index, 1);
    return { statusCode: rule.statusCode, type: rule.type };
  }
}

export interface FaultInjector {
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
}

/** Puts a fault layer in front of a server's existing request handler (kinesalite, dynalite). */
export function addFaultLayer(server: Server, contentType: string): FaultInjector {
  const faults = new FaultQueue();
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target'];
    const action = typeof target === 'string' ? (target.split('.')[1] ?? '') : '';
    const fault = faults.take(action);
    if (fault === undefined) {
      for (const handler of handlers) handler(req, res);
      return;
    }
    // Read the request to its end first so the keep-alive connection stays usable for the retry.
    req.resume();
    req.once('end', () => {
      const body = JSON.stringify({ __type: fault.type, message: `injected fault for ${action}` });
      res.writeHead(fault.statusCode, {
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  return { injectFault: (rule) => faults.add(rule), clearFaults: () => faults.clear() };
}
