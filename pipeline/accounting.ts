/**
 * The run's accounting, pure: what was sent against where each record ended up, and the same categories
 * as the simulator's ground truth predicts them.
 *
 * Categories (each record the endpoints accepted lands in exactly one):
 * - results: distinct readings accepted and delivered as `reading` results to S3;
 * - rejected: distinct records the consumers refused, each sent to the DLQ with its reason code;
 * - deadLettered: events the bus accepted but could not deliver to the stream (the rule's DLQ);
 * - duplicates: repeats of a reading already accepted, counted and not re-emitted.
 */
import type { RejectReason } from '../consumers/contract/reasons.ts';
import type { ExpectedAccounting } from '../sim/ground-truth.ts';

export interface Accounting {
  readonly sent: number;
  readonly results: number;
  readonly rejected: number;
  readonly deadLettered: number;
  readonly duplicates: number;
  /** sent − (results + rejected + deadLettered + duplicates): records nobody accounts for (0 when balanced). */
  readonly unaccounted: number;
  /** True when every sent record is in exactly one category. */
  readonly balanced: boolean;
}

export interface ObservedOutcome {
  readonly sent: number;
  readonly results: number;
  readonly rejectedByReason: Readonly<Partial<Record<RejectReason, number>>>;
  readonly deadLettered: number;
  readonly duplicates: number;
  /** Readings reported missing (sum of missing-record counts). */
  readonly missingReported: number;
}

export function accountFor(observed: ObservedOutcome): Accounting {
  const rejected = sumOf(observed.rejectedByReason);
  const unaccounted =
    observed.sent - (observed.results + rejected + observed.deadLettered + observed.duplicates);
  return {
    sent: observed.sent,
    results: observed.results,
    rejected,
    deadLettered: observed.deadLettered,
    duplicates: observed.duplicates,
    unaccounted,
    balanced: unaccounted === 0,
  };
}

export interface CategoryCheck {
  readonly expected: number;
  readonly observed: number;
}

export interface GroundTruthCheck {
  /** True when every category matches the simulator's prediction exactly. */
  readonly matches: boolean;
  readonly categories: Readonly<Record<string, CategoryCheck>>;
  /** Names of the categories that differ. */
  readonly mismatched: readonly string[];
}

/**
 * Compares with the ground truth. Missing readings are predicted as `missing + gapsFilled`: a gap is
 * reported when it opens, and a late reading that fills it later does not take the report back.
 */
export function checkAgainstGroundTruth(
  observed: ObservedOutcome,
  expected: ExpectedAccounting,
): GroundTruthCheck {
  const categories: Record<string, CategoryCheck> = {
    sent: { expected: expected.sent, observed: observed.sent },
    results: { expected: expected.accepted, observed: observed.results },
    rejected: { expected: expected.rejected, observed: sumOf(observed.rejectedByReason) },
    deadLettered: { expected: 0, observed: observed.deadLettered },
    duplicates: { expected: expected.duplicates, observed: observed.duplicates },
    missing: { expected: expected.missing + expected.gapsFilled, observed: observed.missingReported },
  };
  const reasons = new Set([
    ...Object.keys(expected.rejectedByReason),
    ...Object.keys(observed.rejectedByReason),
  ]) as Set<RejectReason>;
  for (const reason of [...reasons].sort()) {
    categories[`rejected.${reason}`] = {
      expected: expected.rejectedByReason[reason] ?? 0,
      observed: observed.rejectedByReason[reason] ?? 0,
    };
  }
  const mismatched = Object.entries(categories)
    .filter(([, check]) => check.expected !== check.observed)
    .map(([name]) => name);
  return { matches: mismatched.length === 0, categories, mismatched };
}

function sumOf(counts: Readonly<Partial<Record<string, number>>>): number {
  let total = 0;
  for (const value of Object.values(counts)) total += value ?? 0;
  return total;
}
