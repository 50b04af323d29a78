/** A suite-wide embedded stack: started before the suite's tests, stopped after them. */
import { after, before } from 'node:test';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import {
  type EmbeddedLocalStack,
  type LocalStackOptions,
  localClientsConfig,
  startLocalStack,
} from '../../local/stack.ts';

export interface LocalStackFixture {
  readonly stack: EmbeddedLocalStack;
  /** The real SDK clients, pointed at the stack. */
  readonly clients: AwsClients;
}

/** Call inside a `describe`; read `.stack` and `.clients` inside its tests. */
export function useLocalStack(options?: LocalStackOptions): LocalStackFixture {
  let started: LocalStackFixture | undefined;
  before(async () => {
    const stack = await startLocalStack(options);
    started = { stack, clients: createAwsClients(localClientsConfig(stack)) };
  });
  after(async () => {
    started?.clients.destroy();
    await started?.stack.stop();
  });
  const current = (): LocalStackFixture => {
    if (started === undefined) throw new Error('the embedded stack is only running inside the suite');
    return started;
  };
  return {
    get stack() {
      return current().stack;
    },
    get clients() {
      return current().clients;
    },
  };
}
