/**
 * Scores an anomaly detector against the ground truth's value faults: per fault type, how many injected
 * intervals were caught (recall) and how soon (delay); over all flags, how many were real (precision).
 * Pure: the caller collects the flagged readings from wherever the pipeline put them.
 */
import { VALUE_FAULTS, type ValueFault } from './faults.ts';
import type { FaultLine, GroundTruthLine } from './ground-truth.ts';

/** A reading the pipeline flagged as anomalous. */
export interface Detection {
  readonly deviceId: string;
  readonly seq: number;
}

export interface FaultTypeScore {
  /** Intervals of this type injected. */
  readonly injected: number;
  /** Intervals with at least one flag inside them (or within the grace readings after). */
  readonly detected: number;
  /** detected ÷ injected; null when none were injected. */
  readonly recall: number | null;
  /** Mean readings from an interval's first reading to its first flag, over detected intervals. */
  readonly meanDelayReadings: number | null;
  /** The same delay in device time, ms. */
  readonly meanDelayMs: number | null;
}

export interface DetectionScore {
  readonly byFault: Readonly<Record<ValueFault, FaultTypeScore>>;
  /** Distinct flagged readings. */
  readonly flagged: number;
  /** Flagged readings inside a value-fault interval (or its grace readings). */
  readonly truePositives: number;
  /** truePositives ÷ flagged; null when nothing was flagged. */
  readonly precision: number | null;
}

export interface ScoreOptions {
  /**
   * Readings after an interval's end that still count as catching it: a detector needs to see a level
   * shift or drift end before it can be sure. @default 5
   */
  readonly graceReadings?: number;
}

export function scoreDetections(
  lines: Iterable<GroundTruthLine>,
  detections: Iterable<Detection>,
  options: ScoreOptions = {},
): DetectionScore {
  const grace = options.graceReadings ?? 5;
  let intervalMs = 0;
  const intervals = new Map<string, FaultLine[]>();
  for (const line of lines) {
    if (line.type === 'run') intervalMs = line.intervalMs;
    if (line.type !== 'fault') continue;
    const list = intervals.get(line.deviceId) ?? [];
    list.push(line);
    intervals.set(line.deviceId, list);
  }

  const flaggedSeqs = new Map<string, Set<number>>();
  for (const { deviceId, seq } of detections) {
    const seqs = flaggedSeqs.get(deviceId) ?? new Set<number>();
    seqs.add(seq);
    flaggedSeqs.set(deviceId, seqs);
  }

  let flagged = 0;
  let truePositives = 0;
  for (const [deviceId, seqs] of flaggedSeqs) {
    const faults = intervals.get(deviceId) ?? [];
    for (const seq of seqs) {
      flagged++;
      if (faults.some((f) => seq >= f.fromSeq && seq <= f.toSeq + grace)) truePositives++;
    }
  }

  const tallies = new Map<ValueFault, { injected: number; detected: number; delays: number[] }>(
    VALUE_FAULTS.map((fault) => [fault, { injected: 0, detected: 0, delays: [] }]),
  );
  for (const [deviceId, faults] of intervals) {
    const seqs = flaggedSeqs.get(deviceId);
    for (const fault of faults) {
      const tally = tallies.get(fault.fault);
      if (tally === undefined) continue;
      tally.injected++;
      let first = Infinity;
      for (const seq of seqs ?? [])
        if (seq >= fault.fromSeq && seq <= fault.toSeq + grace && seq < first) first = seq;
      if (first !== Infinity) {
        tally.detected++;
        tally.delays.push(first - fault.fromSeq);
      }
    }
  }

  const byFault = {} as Record<ValueFault, FaultTypeScore>;
  for (const [fault, { injected, detected, delays }] of tallies) {
    const meanDelay = delays.length === 0 ? null : delays.reduce((a, b) => a + b, 0) / delays.length;
    byFault[fault] = {
      injected,
      detected,
      recall: injected === 0 ? null : detected / injected,
      meanDelayReadings: meanDelay,
      meanDelayMs: meanDelay === null ? null : meanDelay * intervalMs,
    };
  }
  return { byFault, flagged, truePositives, precision: flagged === 0 ? null : truePositives / flagged };
}
