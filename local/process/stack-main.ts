/**
 * Child-process entry of the embedded stack (started by `startLocalStackProcess`): `stack-main.ts <role>
 * <options JSON>`. Runs its part, announces its endpoints over IPC, answers the parent's requests, and
 * stops when asked or when the parent goes away, so a crashed run never leaves servers behind.
 */
import type { LocalStack, LocalStackOptions } from '../stack.ts';
import { LOCAL_CREDENTIALS, startKinesis, startLocalStack } from '../stack.ts';
import type { ChildRole, ReplyValue, StackReply, StackRequest } from './messages.ts';

function send(message: StackReply): void {
  process.send?.(message);
}

async function answer(stack: LocalStack, request: StackRequest): Promise<ReplyValue> {
  switch (request.op) {
    case 'flushFirehose':
      return stack.flushFirehose();
    case 'drainEventBridge':
      await stack.drainEventBridge();
      return null;
    case 'eventBridgeStats':
      return stack.eventBridgeStats();
    case 'cpuMicros': {
      const { user, system } = process.cpuUsage();
      return user + system;
    }
    case 'stop':
      await stack.stop();
      return null;
  }
}

/** kinesalite alone, shaped as a stack whose other services are someone else's. */
async function startKinesisOnly(options: LocalStackOptions): Promise<LocalStack> {
  const kinesis = await startKinesis({
    host: options.host ?? '127.0.0.1',
    port: options.ports?.kinesis,
    transitionMs: options.transitionMs ?? 20,
    dataDir: options.dataDir,
  });
  const none = (): never => {
    throw new Error('this process serves Kinesis only');
  };
  let stopped: Promise<void> | undefined;
  return {
    endpoints: { kinesis: kinesis.endpoint, dynamodb: '', s3: '', firehose: '', eventbridge: '', sqs: '' },
    region: options.region ?? 'us-east-1',
    credentials: { ...LOCAL_CREDENTIALS },
    flushFirehose: async () => none(),
    drainEventBridge: async () => none(),
    eventBridgeStats: async () => none(),
    stop: () => {
      stopped ??= kinesis.stop();
      return stopped;
    },
  };
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    process.stderr.write('stack-main: start me through startLocalStackProcess (needs an IPC channel)\n');
    process.exitCode = 2;
    return;
  }
  const role = process.argv[2] as ChildRole;
  const options = JSON.parse(process.argv[3] ?? '{}') as LocalStackOptions;
  let stack: LocalStack;
  try {
    stack = role === 'kinesis' ? await startKinesisOnly(options) : await startLocalStack(options);
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    process.disconnect();
    return;
  }
  const stopAndExit = (): void => {
    stack.stop().finally(() => process.exit(0));
  };
  process.on('disconnect', stopAndExit);
  process.on('SIGTERM', stopAndExit);
  // Ctrl-C reaches the whole process group; the parent decides when to stop (it flushes Firehose first).
  process.on('SIGINT', () => {});
  process.on('message', (request: StackRequest) => {
    answer(stack, request).then(
      (value) => {
        send({ type: 'reply', id: request.id, value });
        if (request.op === 'stop') process.disconnect();
      },
      (error: unknown) => send({ type: 'error', id: request.id, message: (error as Error).message }),
    );
  });
  send({ type: 'ready', endpoints: stack.endpoints, region: stack.region, credentials: stack.credentials });
}

await main();
