/**
 * The ground truth of a run, as NDJSON: what was generated, how each record was sent, and which faults
 * it carries. Later code scores detection per fault type against it, and the end-to-end run checks its
 * accounting against `expectedAccounting`, exactly.
 *
 * Lines (each a JSON object with a `type`), in this order:
 * - `run`: once, first: the settings that reproduce the run.
 * - `event`: one per record the simulator produced, written once its fate is known (so in completion
 *   order, not seq order): a dropped reading (`via: "none"`), every sent record, and both copies of a
 *   duplicated one.
 * - `fault`: one per value-fault interval (spike, drift, stuck, level shift).
 * - `end`: once, last: the sender's counts and the expected accounting.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError, FleetstreamError } from '../consumers/contract/errors.ts';
import type { RejectReason } from '../consumers/contract/reasons.ts';
import type { FaultType, ValueFault } from './faults.ts';
import type { Expectation, Via } from './inject.ts';

export const GROUND_TRUTH_VERSION = 1;

export interface RunLine {
  readonly type: 'run';
  readonly version: number;
  readonly seed: string | number;
  readonly devices: number;
  readonly readingsPerDevice: number;
  readonly intervalMs: number;
  /** Device time of the first reporting interval (ISO 8601). */
  readonly start: string;
  readonly faults: string;
  /** Device-time ms per wall-clock ms (1 = real time; null = sent as fast as the endpoints accept). */
  readonly speedup: number | null;
  readonly startedAt: string;
}

export interface EventLine {
  readonly type: 'event';
  readonly deviceId: string;
  readonly seq: number;
  /** True device time of the reading (ISO 8601, ms). */
  readonly ts: string;
  /** The `ts` on the wire when it differs (clock skew, invalid timestamp); null when it was left out. */
  readonly wireTs?: string | null;
  readonly firmware: string;
  readonly via: Via;
  /** 0 original, 1 the repeat of a duplicated reading. */
  readonly copy: number;
  /** Fault types this record carries (value faults of its reading plus its record fault). */
  readonly labels: readonly FaultType[];
  readonly expect: Expectation;
  /** For `expect: "rejected"`: the reason code the pipeline must give. */
  readonly reason?: RejectReason;
  /** Whether the endpoint accepted the record (false for dropped readings and failed sends). */
  readonly delivered: boolean;
  /** Wall-clock time the endpoint acknowledged it (ISO 8601). */
  readonly sentAt?: string;
  /** Send attempts, including the first. */
  readonly attempts?: number;
  /** For undelivered sends: the last error code. */
  readonly error?: string;
  readonly delayMs?: number;
  readonly reboot?: boolean;
  readonly clean?: Readonly<Record<string, number>>;
}

export interface FaultLine {
  readonly type: 'fault';
  readonly fault: ValueFault;
  readonly deviceId: string;
  readonly metric: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly from: string;
  readonly to: string;
  readonly magnitude: number;
}

export interface EndLine {
  readonly type: 'end';
  readonly finishedAt: string;
  readonly aborted: boolean;
  readonly expected: ExpectedAccounting;
}

export type GroundTruthLine = RunLine | EventLine | FaultLine | EndLine;

/** Where ground-truth lines go. */
export interface GroundTruthSink {
  write(line: GroundTruthLine): void;
  close(): Promise<void>;
}

/** Keeps the lines in memory (tests, and `npm start`, which scores detections at the end). */
export class MemoryGroundTruth implements GroundTruthSink {
  readonly lines: GroundTruthLine[] = [];
  write(line: GroundTruthLine): void {
    this.lines.push(line);
  }
  async close(): Promise<void> {}
}

/** Writes lines to an NDJSON file (created or truncated at once, so a bad path fails before the run). */
export class FileGroundTruth implements GroundTruthSink {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(path: string) {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      throw new ConfigError(`cannot write the ground truth to '${path}': ${(error as Error).message}`);
    }
    this.stream = createWriteStream(path, { fd, encoding: 'utf8' });
    // A write error (disk full) must not crash the process from an event; close() reports it.
    this.stream.on('error', (error) => {
      this.failure ??= error;
    });
  }

  write(line: GroundTruthLine): void {
    // Lines are small and the run is bounded; the stream buffers, and close() waits for the flush.
    if (this.failure === undefined) this.stream.write(`${JSON.stringify(line)}\n`);
  }

  async close(): Promise<void> {
    if (this.failure === undefined) {
      this.stream.end();
      try {
        await once(this.stream, 'finish');
      } catch (error) {
        this.failure ??= error as Error;
      }
    }
    if (this.failure !== undefined) {
      throw new FleetstreamError(
        'GROUND_TRUTH_WRITE',
        `writing the ground truth failed: ${this.failure.message}`,
        {
          cause: this.failure,
        },
      );
    }
  }
}

/** Both sinks at once (e.g. a file for the user, memory for the run's own summary). */
export function teeGroundTruth(...sinks: GroundTruthSink[]): GroundTruthSink {
  return {
    write: (line) => {
      for (const sink of sinks) sink.write(line);
    },
    close: async () => {
      await Promise.all(sinks.map((sink) => sink.close()));
    },
  };
}

export async function readGroundTruth(path: string): Promise<GroundTruthLine[]> {
  const lines: GroundTruthLine[] = [];
  const input = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const text of input) if (text.trim() !== '') lines.push(JSON.parse(text) as GroundTruthLine);
  return lines;
}

/** What the pipeline must report for a run, category by category. `sent = accepted + rejected + duplicates`. */
export interface ExpectedAccounting {
  /** Records the endpoints accepted (EventBridge entries plus direct Kinesis records). */
  readonly sent: number;
  readonly sentVia: { readonly eventbridge: number; readonly kinesis: number };
  /** Distinct `(deviceId, seq)` readings that pass every check. */
  readonly accepted: number;
  readonly rejected: number;
  readonly rejectedByReason: Readonly<Partial<Record<RejectReason, number>>>;
  /** Repeats of a reading already accepted. */
  readonly duplicates: number;
  /**
   * Readings that never arrive, as the pipeline can see them: seqs between a device's first and last
   * accepted seq that are not accepted (dropped, rejected or failed to send).
   */
  readonly missing: number;
  /**
   * Readings that arrived after a later reading of their device had opened a gap for them (out-of-order
   * and late ones). The pipeline reports such a gap as missing first and then as filled, so it emits
   * missing records for `missing + gapsFilled` readings. Counted in the ground truth's line order, which
   * is each device's delivery order (one sending lane per device).
   */
  readonly gapsFilled: number;
  /** Readings the simulator dropped on purpose. */
  readonly dropped: number;
  /** Records the endpoints did not accept after every retry. */
  readonly undelivered: number;
  /** Delivered records per fault label (a record counts once for each label it carries). */
  readonly byFault: Readonly<Partial<Record<FaultType, number>>>;
}

/** Adds up event lines one at a time, so a long run need not keep its lines to know what to expect. */
export class AccountingTally {
  private sent = 0;
  private eventbridge = 0;
  private kinesis = 0;
  private rejected = 0;
  private dropped = 0;
  private undelivered = 0;
  private copiesOfGood = 0;
  private gapsFilled = 0;
  private readonly rejectedByReason: Partial<Record<RejectReason, number>> = {};
  private readonly byFault: Partial<Record<FaultType, number>> = {};
  private readonly acceptedSeqs = new Map<string, Set<number>>();
  private readonly highestSeq = new Map<string, number>();

  add(line: EventLine): void {
    if (line.via === 'none') {
      this.dropped += 1;
      return;
    }
    if (!line.delivered) {
      this.undelivered += 1;
      return;
    }
    this.sent += 1;
    if (line.via === 'eventbridge') this.eventbridge += 1;
    else this.kinesis += 1;
    for (const label of line.labels) this.byFault[label] = (this.byFault[label] ?? 0) + 1;
    if (line.expect === 'rejected') {
      this.rejected += 1;
      const reason = line.reason as RejectReason;
      this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
      return;
    }
    // Whichever copy of a reading arrives first is the accepted one; the counts do not depend on which.
    this.copiesOfGood += 1;
    let seqs = this.acceptedSeqs.get(line.deviceId);
    if (seqs === undefined) {
      seqs = new Set();
      this.acceptedSeqs.set(line.deviceId, seqs);
    }
    if (seqs.has(line.seq)) return;
    seqs.add(line.seq);
    const highest = this.highestSeq.get(line.deviceId) ?? -1;
    if (line.seq < highest) this.gapsFilled += 1;
    else this.highestSeq.set(line.deviceId, line.seq);
  }

  result(): ExpectedAccounting {
    let accepted = 0;
    let missing = 0;
    for (const seqs of this.acceptedSeqs.values()) {
      accepted += seqs.size;
      let low = Infinity;
      let high = -Infinity;
      for (const seq of seqs) {
        if (seq < low) low = seq;
        if (seq > high) high = seq;
      }
      missing += high - low + 1 - seqs.size;
    }
    return {
      sent: this.sent,
      sentVia: { eventbridge: this.eventbridge, kinesis: this.kinesis },
      accepted,
      rejected: this.rejected,
      rejectedByReason: { ...this.rejectedByReason },
      duplicates: this.copiesOfGood - accepted,
      missing,
      gapsFilled: this.gapsFilled,
      dropped: this.dropped,
      undelivered: this.undelivered,
      byFault: { ...this.byFault },
    };
  }
}

/**
 * Predicts the pipeline's accounting from the ground truth alone. Assumes the fleet rules the run was
 * built against (by default consumers/config.ts's DEFAULT_FLEET_CONFIG).
 */
export function expectedAccounting(lines: Iterable<GroundTruthLine>): ExpectedAccounting {
  const tally = new AccountingTally();
  for (const line of lines) if (line.type === 'event') tally.add(line);
  return tally.result();
}
