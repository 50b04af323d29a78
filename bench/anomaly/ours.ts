/** Our detector as a SeriesDetector: slot 0 of the stream's scorer, exactly as `fleetstream score` runs it. */
import { type AnomalyConfig, createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import type { SeriesDetector } from './detector.ts';

export function streamScorer(config: Partial<AnomalyConfig> = {}, name = 'fleetstream'): SeriesDetector {
  return {
    name,
    score(timestampsMs, values) {
      const scorer = createMetricAnomalyScorer(config);
      scorer.ensureCapacity(1);
      return values.map((value, i) => scorer.update(0, timestampsMs[i]!, value));
    },
  };
}
