/**
 * The embedded stack in child processes. kinesalite, dynalite, s3rver and the stand-ins are CPU-bound
 * JavaScript too; in the application's process they share its one event loop with the consumers, so a
 * local run measured the sum of both. In children they run beside it on other cores, as AWS runs beside
 * a real consumer. The application side is unchanged: it only ever had endpoints.
 *
 * Kinesis gets a process of its own by default: every GetRecords a consumer makes lands there, and the
 * Firehose and S3 work of the same records would otherwise queue behind it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FleetstreamError } from '../../consumers/contract/errors.ts';
import type { DeliveryStats } from '../eventbridge/delivery.ts';
import type { LocalEndpoints, LocalStack, LocalStackOptions } from '../stack.ts';
import type { ChildRole, ReplyValue, StackReply, StackRequest } from './messages.ts';

const ENTRY = fileURLToPath(new URL('./stack-main.ts', import.meta.url));

export interface LocalStackProcessOptions extends Omit<LocalStackOptions, 'kinesisEndpoint'> {
  /** Run kinesalite in a process of its own rather than beside the other services. @default true */
  readonly separateKinesis?: boolean;
  /** How long a child may take to start its services. @default 30000 (ms) */
  readonly startTimeoutMs?: number;
}

export interface LocalStackProcesses extends LocalStack {
  /** CPU time (user + system, µs) each child has used so far, by role: what a benchmark charges the stack. */
  cpuMicros(): Promise<Readonly<Record<ChildRole, number>>>;
  /** The children's process ids, e.g. to check that none outlives its parent. */
  readonly pids: readonly number[];
}

export async function startLocalStackProcess(
  options: LocalStackProcessOptions = {},
): Promise<LocalStackProcesses> {
  const { startTimeoutMs = 30_000, separateKinesis = true, ...stackOptions } = options;
  const children: StackChild[] = [];
  try {
    let kinesisEndpoint: string | undefined;
    if (separateKinesis) {
      const kinesis = await StackChild.start('kinesis', stackOptions, startTimeoutMs);
      children.push(kinesis);
      kinesisEndpoint = kinesis.ready.endpoints.kinesis;
    }
    const services = await StackChild.start(
      'stack',
      kinesisEndpoint === undefined ? stackOptions : { ...stackOptions, kinesisEndpoint },
      startTimeoutMs,
    );
    children.push(services);
    // The stack child announces every service it runs, Kinesis included (its own or the one passed in).
    const endpoints = services.ready.endpoints as LocalEndpoints;
    let stopping: Promise<void> | undefined;
    return {
      endpoints,
      region: services.ready.region,
      credentials: services.ready.credentials,
      flushFirehose: async () => (await services.request('flushFirehose')) as number,
      drainEventBridge: async () => {
        await services.request('drainEventBridge');
      },
      eventBridgeStats: async () => (await services.request('eventBridgeStats')) as DeliveryStats,
      pids: children.map((child) => child.pid),
      async cpuMicros() {
        const used = { kinesis: 0, stack: 0 };
        for (const child of children) used[child.role] = (await child.request('cpuMicros')) as number;
        return used;
      },
      stop() {
        // The services first: the stand-ins deliver what they buffered while Kinesis is still up.
        stopping ??= (async () => {
          for (const child of [...children].reverse()) await child.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const child of children) await child.stop();
    throw error;
  }
}

type Ready = Extract<StackReply, { type: 'ready' }>;
type Waiter = { resolve: (value: ReplyValue) => void; reject: (error: Error) => void };

/** One child process and the request/reply bookkeeping over its IPC channel. */
class StackChild {
  private readonly pending = new Map<number, Waiter>();
  private nextId = 1;
  private exited = false;
  private readonly exit: Promise<void>;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly role: ChildRole,
    private readonly child: ChildProcess,
    readonly ready: Ready,
  ) {
    child.on('message', (message: StackReply) => {
      if (message.type !== 'reply' && message.type !== 'error') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.type === 'reply') waiter?.resolve(message.value);
      else waiter?.reject(new FleetstreamError('LOCAL_STACK', `local stack: ${message.message}`));
    });
    this.exit = new Promise((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exited = true;
        for (const waiter of this.pending.values()) {
          waiter.reject(
            new FleetstreamError('LOCAL_STACK', `local stack process exited (${signal ?? code})`),
          );
        }
        this.pending.clear();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
      else child.once('exit', onExit);
    });
  }

  static async start(role: ChildRole, options: LocalStackOptions, timeoutMs: number): Promise<StackChild> {
    const child = fork(ENTRY, [role, JSON.stringify(options)], {
      // Resolved here so the child finds tsx whatever its working directory.
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The SDK's warning about this Node version is for the user; the parent already shows it once.
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    return new StackChild(role, child, await waitForReady(child, timeoutMs));
  }

  get pid(): number {
    // A forked child that sent `ready` is running, so it has a pid.
    return this.child.pid as number;
  }

  request(op: StackRequest['op']): Promise<ReplyValue> {
    if (this.exited) {
      return Promise.reject(new FleetstreamError('LOCAL_STACK', 'local stack process has exited'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op } satisfies StackRequest);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.exited) await this.request('stop').catch(() => {});
      // A child that does not go within a few seconds after its servers closed is killed.
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exit;
      clearTimeout(killer);
    })();
    return this.stopping;
  }
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const fail = (message: string): void => {
      settle();
      child.kill('SIGKILL');
      reject(new FleetstreamError('LOCAL_STACK', `local stack process: ${message}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited before it was ready (${signal ?? code})`);
    const onMessage = (message: StackReply): void => {
      if (message.type === 'ready') {
        settle();
        resolve(message);
      } else if (message.type === 'failed') fail(message.message);
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.on('exit', onExit);
    child.on('message', onMessage);
  });
}
