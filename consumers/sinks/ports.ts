/**
 * What the runtimes need from the outside world to hand outputs on. One port per destination, so a
 * runtime never knows which AWS service (or which local stand-in) is behind it.
 */
import type { Rejection } from '../contract/outputs.ts';
import type { BatchOutcome, EncodedOutput } from '../processor/types.ts';

/**
 * Accepts encoded outputs. Resolves only when every output was acknowledged by the service; rejects
 * (typically with PartialDeliveryError) otherwise, so the caller does not checkpoint.
 */
export interface OutputSink {
  deliver(outputs: readonly EncodedOutput[]): Promise<void>;
}

/** Results, windows, missing records and correction requests (Firehose → `results/…`). */
export type ResultSink = OutputSink;
/** Accepted raw events, verbatim (Firehose → `raw/…`), for recalculation. */
export type ArchiveSink = OutputSink;

/** Rejected records with their reason code and original bytes. Same acknowledgement contract. */
export interface DlqSink {
  send(rejections: readonly Rejection[]): Promise<void>;
}

/** The batch's correction requests, for the correction handler's queue. Same acknowledgement contract. */
export interface CorrectionSink {
  send(outcome: Pick<BatchOutcome, 'corrections' | 'results'>): Promise<void>;
}

/** The destinations of one batch. */
export interface Sinks {
  readonly results: ResultSink;
  readonly archive: ArchiveSink;
  readonly dlq: DlqSink;
  /**
   * The correction queue. Requests also stay among the results (the audit copy).
   * @default none — requests reach the correction handler only through the results
   */
  readonly corrections?: CorrectionSink;
}

/**
 * Hands one batch's outputs to every destination at once: results, raw archive, rejections and, where a
 * correction queue is configured, the correction requests (which also stay among the results as the
 * audit copy). Resolves when all acknowledged; every runtime delivers through this, so none forgets one.
 */
export async function deliverOutcome(sinks: Sinks, outcome: BatchOutcome): Promise<void> {
  await Promise.all([
    sinks.results.deliver(outcome.results),
    sinks.archive.deliver(outcome.archive),
    sinks.dlq.send(outcome.rejections),
    sinks.corrections?.send(outcome),
  ]);
}
