/**
 * The end-of-run summary: named sections, composed in one place. A feature adds its section by adding a
 * field to `SummarySections` and a renderer to `SECTION_RENDERERS`; `--json-summary` prints the sections
 * as one JSON line, the default prints them as text.
 */

import type { FaultTypeScore } from '../sim/score.ts';
import type { Accounting, GroundTruthCheck } from './accounting.ts';
import type { LagPercentiles } from './lag.ts';

export interface RunSection {
  readonly runId: string;
  readonly devices: number;
  readonly shards: number;
  readonly workers: number;
  readonly faults: string;
  readonly seed: string | number;
  /** Wall seconds from the first event sent to the last result in S3. */
  readonly wallSeconds: number;
  /** Records in per wall second over the whole run (stack start-up excluded). */
  readonly eventsPerSecond: number;
  /** Arrival in the stream → batch acknowledged by the results sink, ms. */
  readonly lagMs: LagPercentiles;
  /** The part of `lagMs` before a record was read from the stream (polling and GetRecords), ms. */
  readonly readLagMs: LagPercentiles;
  /** Why the run stopped waiting, when it did not finish cleanly. */
  readonly incomplete?: string;
}

export interface ResultsSection {
  readonly bucket: string;
  /** Object counts per prefix (`results/`, `raw/`, `errors/`). */
  readonly prefixes: Readonly<Record<string, number>>;
  /** Distinct outputs per kind under `results/`. */
  readonly byKind: Readonly<Record<string, number>>;
  readonly dlqUrl: string;
  /** Messages waiting in the DLQ (re-sent batches may repeat a rejection; `accounting` counts ids). */
  readonly dlqMessages: number;
}

export interface DetectionSection {
  /** Per injected value-fault type: intervals injected, caught, recall and mean delay. */
  readonly byFault: Readonly<Record<string, FaultTypeScore>>;
  readonly flagged: number;
  readonly precision: number | null;
  /** Records carrying each fault label that reached the endpoints (record faults included). */
  readonly labeledRecords: Readonly<Record<string, number>>;
}

/** Filled by the automatic-correction feature (anomaly/correction) when it runs with the pipeline. */
export interface CorrectionsSection {
  readonly requested: number;
  readonly corrected: number;
  readonly deadLettered: number;
  readonly failed: number;
  readonly loops: number;
}

/** The served model's second opinion on in-stream alarms, summed over shards, when a model was configured. */
export interface ModelSection {
  readonly requests: number;
  readonly invoked: number;
  readonly confirmed: number;
  readonly dismissed: number;
  readonly inStreamOnly: number;
  readonly withheldRequests: number;
  readonly failures: number;
  readonly timeouts: number;
  readonly skippedOpen: number;
}

export interface SummarySections {
  readonly run: RunSection;
  readonly accounting: Accounting;
  readonly groundTruth?: GroundTruthCheck;
  readonly rejectsByReason: Readonly<Record<string, number>>;
  readonly results?: ResultsSection;
  readonly detection?: DetectionSection;
  readonly model?: ModelSection;
  readonly corrections?: CorrectionsSection;
}

type Renderers = {
  readonly [K in keyof SummarySections]-?: (section: NonNullable<SummarySections[K]>) => string[];
};

const fixed = (value: number | null, digits = 2): string => (value === null ? '-' : value.toFixed(digits));

const SECTION_RENDERERS: Renderers = {
  run: (run) => [
    `run ${run.runId}: ${run.devices} devices, ${run.shards} shards, ${run.workers} workers, faults ${run.faults}, seed ${run.seed}`,
    `  ${run.wallSeconds.toFixed(1)} s, ${run.eventsPerSecond.toFixed(0)} events/s, lag p50 ${fixed(run.lagMs.p50, 0)} ms p99 ${fixed(run.lagMs.p99, 0)} ms` +
      ` (until read: p50 ${fixed(run.readLagMs.p50, 0)} ms p99 ${fixed(run.readLagMs.p99, 0)} ms)`,
    ...(run.incomplete === undefined ? [] : [`  INCOMPLETE: ${run.incomplete}`]),
  ],
  accounting: (a) => [
    `accounting: sent ${a.sent} = results ${a.results} + rejected ${a.rejected} + dead-lettered ${a.deadLettered} + duplicates ${a.duplicates}` +
      (a.balanced ? '  (balanced)' : `  (NOT balanced: ${a.unaccounted} unaccounted)`),
  ],
  groundTruth: (check) => [
    check.matches
      ? 'ground truth: every category matches the simulator exactly'
      : `ground truth: MISMATCH in ${check.mismatched.join(', ')}`,
    ...Object.entries(check.categories).map(
      ([name, { expected, observed }]) =>
        `  ${name.padEnd(32)} expected ${String(expected).padStart(7)}  observed ${String(observed).padStart(7)}`,
    ),
  ],
  rejectsByReason: (byReason) => [
    'rejects by reason:',
    ...(Object.keys(byReason).length === 0
      ? ['  (none)']
      : Object.entries(byReason).map(([reason, count]) => `  ${reason.padEnd(24)} ${count}`)),
  ],
  results: (results) => [
    `results in s3://${results.bucket}/ (objects: ${Object.entries(results.prefixes)
      .map(([prefix, count]) => `${prefix} ${count}`)
      .join(', ')})`,
    `  outputs: ${Object.entries(results.byKind)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ')}`,
    `  rejected records: ${results.dlqMessages} messages in ${results.dlqUrl}`,
  ],
  detection: (detection) => [
    `detection (flagged readings ${detection.flagged}, precision ${fixed(detection.precision)}):`,
    ...Object.entries(detection.byFault).map(
      ([fault, s]) =>
        `  ${fault.padEnd(12)} injected ${String(s.injected).padStart(4)}  detected ${String(s.detected).padStart(4)}  recall ${fixed(s.recall)}  delay ${fixed(s.meanDelayReadings, 1)} readings`,
    ),
    `  record faults reaching the endpoints: ${Object.entries(detection.labeledRecords)
      .map(([label, count]) => `${label} ${count}`)
      .join(', ')}`,
  ],
  model: (m) => [
    `model: ${m.requests} InvokeEndpoint calls, ${m.invoked} readings scored; alarms confirmed ${m.confirmed}, dismissed ${m.dismissed}, in-stream only ${m.inStreamOnly}; requests withheld ${m.withheldRequests}; failures ${m.failures}, timeouts ${m.timeouts}, skipped (breaker open) ${m.skippedOpen}`,
  ],
  corrections: (c) => [
    `corrections: requested ${c.requested}, corrected ${c.corrected}, dead-lettered ${c.deadLettered}, failed ${c.failed}, loops ${c.loops}`,
  ],
};

const SECTION_ORDER = Object.keys(SECTION_RENDERERS) as (keyof SummarySections)[];

/** The sections in their documented order, absent ones left out: the object `--json-summary` prints. */
export function composeSummary(sections: SummarySections): Readonly<Record<string, unknown>> {
  const summary: Record<string, unknown> = {};
  for (const name of SECTION_ORDER) if (sections[name] !== undefined) summary[name] = sections[name];
  return summary;
}

export function renderSummary(sections: SummarySections): string {
  const lines: string[] = [];
  for (const name of SECTION_ORDER) {
    const section = sections[name];
    if (section === undefined) continue;
    const render = SECTION_RENDERERS[name] as (value: typeof section) => string[];
    lines.push(...render(section));
  }
  return `${lines.join('\n')}\n`;
}
