/**
 * Child-process entry of the embedded stack (started by `startLocalStackProcess`). Runs the stack with
 * the options it was given, announces its endpoints over IPC, answers the parent's requests, and stops
 * when asked or when the parent goes away, so a crashed run never leaves servers behind.
 */
import type { DeliveryStats } from '../eventbridge/delivery.ts';
import type { EmbeddedLocalStack, LocalStackOptions } from '../stack.ts';
import { startLocalStack } from '../stack.ts';
import type { StackReply, StackRequest } from './messages.ts';

function send(message: StackReply): void {
  process.send?.(message);
}

async function answer(
  stack: EmbeddedLocalStack,
  request: StackRequest,
): Promise<number | DeliveryStats | null> {
  switch (request.op) {
    case 'flushFirehose':
      return stack.flushFirehose();
    case 'drainEventBridge':
      await stack.drainEventBridge();
      return null;
    case 'eventBridgeStats':
      return stack.eventBridgeStats();
    case 'stop':
      await stack.stop();
      return null;
  }
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    process.stderr.write('stack-main: start me through startLocalStackProcess (needs an IPC channel)\n');
    process.exitCode = 2;
    return;
  }
  const options = JSON.parse(process.argv[2] ?? '{}') as LocalStackOptions;
  let stack: EmbeddedLocalStack;
  try {
    stack = await startLocalStack(options);
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
