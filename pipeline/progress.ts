/** The live progress line of a run: one compact line, refreshed in place on a terminal. */

export type PipelinePhase = 'simulating' | 'draining' | 'flushing' | 'collecting' | 'replaying';

export interface PipelineProgress {
  readonly phase: PipelinePhase;
  readonly elapsedMs: number;
  /** Records the endpoints accepted so far, and the records the run will produce. */
  readonly sent: number;
  readonly total: number;
  /** Records processed and acknowledged by the sinks. */
  readonly recordsIn: number;
  /** Outputs acknowledged by the results sink. */
  readonly resultsOut: number;
  /** Largest Kinesis MillisBehindLatest over the shards (the embedded Kinesis always answers 0). */
  readonly iteratorLagMs: number;
  /** p99 of arrival → results acknowledged over the records delivered since the previous report; null when none. */
  readonly eventLagP99Ms?: number | null;
  readonly rejected: number;
  /** Events the bus sent to its dead-letter queue. */
  readonly deadLettered: number;
  readonly duplicates: number;
  /** Missing-record outputs (gaps in a device's seq). */
  readonly gaps: number;
  readonly anomalies: number;
}

export function formatProgress(p: PipelineProgress): string {
  return (
    `${p.phase.padEnd(10)} ${(p.elapsedMs / 1000).toFixed(0).padStart(3)}s  sent ${p.sent}/${p.total}  ` +
    `in ${p.recordsIn}  out ${p.resultsOut}  lag p99 ${p.eventLagP99Ms == null ? '-' : `${Math.round(p.eventLagP99Ms)}ms`}  ` +
    `iterator ${p.iteratorLagMs}ms  rejects ${p.rejected}  ` +
    `dlq ${p.deadLettered}  dups ${p.duplicates}  gaps ${p.gaps}  anomalies ${p.anomalies}`
  );
}

/**
 * Writes progress to a stream: on a TTY one line redrawn in place, otherwise plain lines (logs and CI
 * keep every one). `end()` moves off the redrawn line.
 */
export function progressWriter(stream: NodeJS.WriteStream): {
  write(p: PipelineProgress): void;
  end(): void;
} {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    write(p) {
      const line = formatProgress(p);
      if (tty) {
        stream.write(`\r${line.slice(0, Math.max(20, (stream.columns ?? 160) - 1))}\u001b[K`);
        drawn = true;
      } else stream.write(`${line}\n`);
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
