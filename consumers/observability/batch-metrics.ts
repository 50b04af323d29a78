/**
 * The counters every consumer runtime publishes per processed batch, under the names the deployed
 * dashboard and alarms read (infra/names.ts takes them from here).
 */
import type { BatchOutcome } from '../processor/types.ts';
import type { Metrics } from './metrics.ts';

export const BATCH_METRICS = {
  recordsIn: 'RecordsIn',
  recordsRejected: 'RecordsRejected',
  recordsDuplicate: 'RecordsDuplicate',
  /** Anomaly records the in-stream detector emitted (each triggers correction unless the model dismisses it). */
  anomalies: 'AnomaliesFlagged',
} as const;

export function countBatch(metrics: Metrics, outcome: BatchOutcome): void {
  metrics.count(BATCH_METRICS.recordsIn, outcome.counts.in);
  metrics.count(BATCH_METRICS.recordsRejected, outcome.counts.rejected);
  metrics.count(BATCH_METRICS.recordsDuplicate, outcome.counts.duplicates);
  let anomalies = 0;
  for (const output of outcome.results) if (output.kind === 'anomaly') anomalies++;
  metrics.count(BATCH_METRICS.anomalies, anomalies);
}
