/**
 * Child-process entry of the embedded stack (started by `startLocalStackProcess`): `stack-main.ts <role>
 * <options JSON>`. Runs its part, announces its endpoints over IPC, answers the parent's requests, and
 * stops when asked or when the parent goes away, so a crashed run never leaves servers behind.
 */
import type { LocalEndpoints, LocalStack, LocalStackOptions } from '../stack.ts';
import { LOCAL_CREDENTIALS, startKinesis, startLocalStack } from '../stack.ts';
import type { ChildRole, ReplyValue, StackReply, StackRequest } from './messages.ts';

function send(message: StackReply): void {
  process.send?.(message);
}

/** What one child serves: the whole stack, or kinesalite alone (which only stops). */
interface Served {
  readonly endpoints: Partial<LocalEndpoints>;
  readonly region: string;
  /** The stack's operator actions; absent where the child serves Kinesis only. */
  readonly stack?: LocalStack;
  stop(): Promise<void>;
}

async function serve(role: ChildRole, options: LocalStackOptions): Promise<Served> {
  if (role === 'stack') {
    const stack = await startLocalStack(options);
    return { endpoints: stack.endpoints, region: stack.region, stack, stop: () => stack.stop() };
  }
  const kinesis = await startKinesis({
    host: options.host ?? '127.0.0.1',
    port: options.ports?.kinesis,
    transitionMs: options.transitionMs ?? 20,
    dataDir: options.dataDir,
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoints: { kinesis: kinesis.endpoint },
    region: options.region ?? 'us-east-1',
    stop: () => {
      stopped ??= kinesis.stop();
      return stopped;
    },
  };
}

async function answer(served: Served, request: StackRequest): Promise<ReplyValue> {
  if (request.op === 'cpuMicros') {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
  if (request.op === 'stop') {
    await served.stop();
    return null;
  }
  const stack = served.stack;
  if (stack === undefined) throw new Error(`${request.op}: this process serves Kinesis only`);
  switch (request.op) {
    case 'flushFirehose':
      return stack.flushFirehose();
    case 'drainEventBridge':
      await stack.drainEventBridge();
      return null;
    case 'eventBridgeStats':
      return stack.eventBridgeStats();
  }
}

/** How long a stopping child waits for its servers to close before it exits anyway. */
const STOP_DEADLINE_MS = 3000;

async function main(): Promise<void> {
  if (process.send === undefined) {
    process.stderr.write('stack-main: start me through startLocalStackProcess (needs an IPC channel)\n');
    process.exitCode = 2;
    return;
  }
  const role = process.argv[2] as ChildRole;
  const options = JSON.parse(process.argv[3] ?? '{}') as LocalStackOptions;
  let served: Served;
  try {
    served = await serve(role, options);
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    process.disconnect();
    return;
  }
  const stopAndExit = (): void => {
    // A backstop: whatever a stop ends up waiting on, a child must not outlive its parent by more than this.
    // (Stops take milliseconds. One CI run saw an endpoint still answering 10 s after the parent died; the
    // likeliest cause is another test's server given the freed port, so that test now checks the processes.)
    setTimeout(() => process.exit(0), STOP_DEADLINE_MS).unref();
    served.stop().finally(() => process.exit(0));
  };
  process.on('disconnect', stopAndExit);
  process.on('SIGTERM', stopAndExit);
  // Ctrl-C reaches the whole process group; the parent decides when to stop (it flushes Firehose first).
  process.on('SIGINT', () => {});
  process.on('message', (request: StackRequest) => {
    answer(served, request).then(
      (value) => {
        send({ type: 'reply', id: request.id, value });
        if (request.op === 'stop') process.disconnect();
      },
      (error: unknown) => send({ type: 'error', id: request.id, message: (error as Error).message }),
    );
  });
  send({
    type: 'ready',
    endpoints: served.endpoints,
    region: served.region,
    credentials: { ...LOCAL_CREDENTIALS },
  });
}

await main();
