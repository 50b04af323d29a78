/**
 * The child's end of the MultiLang pipe. Only protocol lines are ever written to `output`; writes are
 * serialised and wait for 'drain' when the pipe is full (the daemon may be slow to read). A bad input
 * line is reported on the logger and skipped, never thrown.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../observability/logger.ts';
import { type ChildMessage, type DaemonMessage, encodeChildMessage, parseDaemonLine } from './protocol.ts';

export type DaemonAction = Exclude<DaemonMessage, { action: 'checkpoint' }>;

export class MultiLangChannel {
  readonly #output: Writable;
  readonly #logger: Logger;
  #writes: Promise<void> = Promise.resolve();
  #pendingCheckpoint: ((reply: Extract<DaemonMessage, { action: 'checkpoint' }>) => void) | undefined;

  constructor(output: Writable, logger: Logger) {
    this.#output = output;
    this.#logger = logger;
  }

  /**
   * Reads the daemon's lines until the input closes, handing each action to `handle` one at a time, in
   * order. Checkpoint replies bypass that queue: they answer a request made by the action in progress,
   * which is still waiting for them.
   */
  async run(input: Readable, handle: (action: DaemonAction) => Promise<void>): Promise<void> {
    let queue: Promise<void> = Promise.resolve();
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue; // the daemon and the reference client pad lines with newlines
      let message: DaemonMessage;
      try {
        message = parseDaemonLine(line);
      } catch (error) {
        this.#logger.error('ignoring a malformed line from the daemon', { error, line: line.slice(0, 200) });
        continue;
      }
      if (message.action === 'checkpoint') {
        const waiter = this.#pendingCheckpoint;
        this.#pendingCheckpoint = undefined;
        if (waiter === undefined) this.#logger.warn('checkpoint reply without a request', { message });
        else waiter(message);
        continue;
      }
      const action = message;
      queue = queue.then(() => handle(action));
    }
    await queue;
  }

  send(message: ChildMessage): Promise<void> {
    const line = encodeChildMessage(message);
    this.#writes = this.#writes.then(async () => {
      if (!this.#output.write(line)) await once(this.#output, 'drain');
    });
    return this.#writes;
  }

  /**
   * Asks the daemon to checkpoint and waits for its answer. Resolves with the daemon's error text, or
   * undefined on success. The reply arrives on the input while the current action is still open, so the
   * action loop must keep reading — it does, because handlers run beside it, not inside it.
   */
  async checkpoint(sequenceNumber: string | null, subSequenceNumber?: number): Promise<string | undefined> {
    if (this.#pendingCheckpoint !== undefined) throw new Error('a checkpoint is already in flight');
    const reply = new Promise<Extract<DaemonMessage, { action: 'checkpoint' }>>((resolve) => {
      this.#pendingCheckpoint = resolve;
    });
    await this.send({
      action: 'checkpoint',
      sequenceNumber,
      ...(subSequenceNumber === undefined ? {} : { subSequenceNumber }),
    });
    const answer = await reply;
    return answer.error;
  }
}
