/**
 * The embedded stack in a child process. kinesalite, dynalite, s3rver and the stand-ins are CPU-bound
 * JavaScript too; in the application's process they share its one event loop with the consumers, so a
 * local run measured the sum of both. In a child they run beside it on another core, as AWS runs beside
 * a real consumer. The application side is unchanged: it only ever had endpoints.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FleetstreamError } from '../../consumers/contract/errors.ts';
import type { DeliveryStats } from '../eventbridge/delivery.ts';
import type { LocalStack, LocalStackOptions } from '../stack.ts';
import type { StackReply, StackRequest } from './messages.ts';

const ENTRY = fileURLToPath(new URL('./stack-main.ts', import.meta.url));

export interface LocalStackProcessOptions extends LocalStackOptions {
  /** How long the child may take to start every service. @default 30000 (ms) */
  readonly startTimeoutMs?: number;
}

type Pending = { resolve: (value: number | DeliveryStats | null) => void; reject: (error: Error) => void };

export async function startLocalStackProcess(options: LocalStackProcessOptions = {}): Promise<LocalStack> {
  const { startTimeoutMs = 30_000, ...stackOptions } = options;
  const child = fork(ENTRY, [JSON.stringify(stackOptions)], {
    // Resolved here so the child finds tsx whatever its working directory.
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await waitForReady(child, startTimeoutMs);

  const pending = new Map<number, Pending>();
  let nextId = 1;
  let exited = false;
  child.on('message', (message: StackReply) => {
    if (message.type !== 'reply' && message.type !== 'error') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'reply') waiter?.resolve(message.value);
    else waiter?.reject(new FleetstreamError('LOCAL_STACK', `local stack: ${message.message}`));
  });
  const exitedEarly = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const waiter of pending.values()) {
        waiter.reject(new FleetstreamError('LOCAL_STACK', `local stack process exited (${signal ?? code})`));
      }
      pending.clear();
      resolve();
    });
  });
  const request = (op: StackRequest['op']): Promise<number | DeliveryStats | null> => {
    if (exited) return Promise.reject(new FleetstreamError('LOCAL_STACK', 'local stack process has exited'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ id, op } satisfies StackRequest);
    });
  };

  let stopping: Promise<void> | undefined;
  return {
    endpoints: ready.endpoints,
    region: ready.region,
    credentials: ready.credentials,
    flushFirehose: async () => (await request('flushFirehose')) as number,
    drainEventBridge: async () => {
      await request('drainEventBridge');
    },
    eventBridgeStats: async () => (await request('eventBridgeStats')) as DeliveryStats,
    stop() {
      stopping ??= (async () => {
        if (!exited) await request('stop').catch(() => {});
        // A child that does not go within a few seconds after its servers closed is killed.
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitedEarly;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}

function waitForReady(
  child: ChildProcess,
  timeoutMs: number,
): Promise<Extract<StackReply, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const fail = (message: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new FleetstreamError('LOCAL_STACK', `local stack process: ${message}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.once('exit', (code, signal) => fail(`exited before it was ready (${signal ?? code})`));
    child.on('message', function onMessage(message: StackReply) {
      if (message.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.removeAllListeners('exit');
        resolve(message);
      } else if (message.type === 'failed') fail(message.message);
    });
  });
}
