/** Building batch outcomes out of others: the runtimes that process a batch in parts put them back together. */
import type { ReadingResult } from '../contract/outputs.ts';
import type { BatchOutcome } from './types.ts';

/**
 * The outcomes as one batch, in the order given: outputs concatenated, counts summed, scored readings kept
 * when any part kept them. No parts make an empty batch.
 */
export function mergeOutcomes(parts: readonly BatchOutcome[]): BatchOutcome {
  const merged = {
    results: [] as BatchOutcome['results'],
    archive: [] as BatchOutcome['archive'],
    rejections: [] as BatchOutcome['rejections'],
    corrections: [] as BatchOutcome['corrections'],
    counts: { in: 0, accepted: 0, rejected: 0, duplicates: 0 },
  };
  let scoredReadings: ReadingResult[] | undefined;
  for (const part of parts) {
    // Element by element: spreading a large part into push() could overflow the call stack.
    for (const output of part.results) merged.results.push(output);
    for (const output of part.archive) merged.archive.push(output);
    for (const rejection of part.rejections) merged.rejections.push(rejection);
    for (const request of part.corrections) merged.corrections.push(request);
    merged.counts.in += part.counts.in;
    merged.counts.accepted += part.counts.accepted;
    merged.counts.rejected += part.counts.rejected;
    merged.counts.duplicates += part.counts.duplicates;
    if (part.scoredReadings !== undefined) {
      scoredReadings ??= [];
      for (const reading of part.scoredReadings) scoredReadings.push(reading);
    }
  }
  return scoredReadings === undefined ? merged : { ...merged, scoredReadings };
}
