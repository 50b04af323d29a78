/**
 * The child's end of the MultiLang pipe. Only protocol lines are ever written to `output`; writes are
 * serialised and wait for 'drain' when the pipe is full (the daemon may be slow to read). A line that
 * names no known action is reported on the logger and skipped. What the child cannot recover from ends
 * `run` with a ProtocolError (the executable logs it and exits 1): a known action it cannot act on, the
 * input closing while a checkpoint reply is awaited, or an action whose handling failed.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../observability/logger.ts';
import {
  type ChildMessage,
  type DaemonMessage,
  encodeChildMessage,
  ProtocolError,
  parseDaemonLine,
} from './protocol.ts';

export type DaemonAction = Exclude<DaemonMessage, { action: 'checkpoint' }>;

export class MultiLangChannel {
  readonly #output: Writable;
  readonly #logger: Logger;
  #writes: Promise<void> = Promise.resolve();
  #pendingCheckpoint:
    | {
        readonly resolve: (reply: Extract<DaemonMessage, { action: 'checkpoint' }>) => void;
        readonly reject: (error: Error) => void;
      }
    | undefined;
  /** Set once the input has closed: no reply can come any more. */
  #closed = false;

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
    let failure: unknown;
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    const fail = (error: unknown): void => {
      failure ??= error;
      lines.close(); // stop reading: nothing after a failed action can be answered truthfully
    };
    try {
      for await (const raw of lines) {
        const line = raw.trim();
        if (line === '') continue; // the daemon and the reference client pad lines with newlines
        let message: DaemonMessage;
        try {
          message = parseDaemonLine(line);
        } catch (error) {
          if (error instanceof ProtocolError && error.action !== undefined) {
            // The daemon waits for an answer to this action that the child cannot give.
            fail(error);
            break;
          }
          this.#logger.error('ignoring a malformed line from the daemon', {
            error,
            line: line.slice(0, 200),
          });
          continue;
        }
        if (message.action === 'checkpoint') {
          const waiter = this.#pendingCheckpoint;
          this.#pendingCheckpoint = undefined;
          if (waiter === undefined) this.#logger.warn('checkpoint reply without a request', { message });
          else waiter.resolve(message);
          continue;
        }
        const action = message;
        queue = queue.then(() => (failure === undefined ? handle(action) : undefined)).catch(fail);
      }
    } finally {
      this.#closed = true;
      const waiter = this.#pendingCheckpoint;
      this.#pendingCheckpoint = undefined;
      waiter?.reject(
        new ProtocolError('the input closed while a checkpoint reply was awaited; not checkpointed'),
      );
    }
    await queue;
    if (failure !== undefined) throw failure;
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
    if (this.#closed)
      throw new ProtocolError('the input is closed: no checkpoint reply can come; not checkpointed');
    const reply = new Promise<Extract<DaemonMessage, { action: 'checkpoint' }>>((resolve, reject) => {
      this.#pendingCheckpoint = { resolve, reject };
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
