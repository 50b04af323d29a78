/** Running an OutcomeStage the way every runtime must: its failure never holds a batch back. */
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { BatchOutcome, OutcomeStage } from './types.ts';

/** The batch as the stage left it, or as processed when there is no stage or it failed (counted, logged). */
export async function throughStage(
  stage: OutcomeStage | undefined,
  outcome: BatchOutcome,
  deps: { readonly metrics: Metrics; readonly log: Logger },
): Promise<BatchOutcome> {
  if (stage === undefined) return outcome;
  try {
    return await stage.review(outcome);
  } catch (error) {
    // A stage is an opinion on the batch, never a reason to hold it back.
    deps.metrics.count('StageFailures');
    deps.log.warn('stage failed; delivering the batch as processed', { error });
    return outcome;
  } finally {
    stage.publishMetrics?.(deps.metrics);
  }
}
