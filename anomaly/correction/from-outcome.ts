/**
 * Turns a batch's correction requests into queue entries. The collector pushes each request to
 * `corrections` and its encoded line to `results` in the same order, and the line's partition time is the
 * event time the handler needs (GAP_FILLED requests carry no window start of their own).
 */
import type { CorrectionRequest } from '../../consumers/contract/outputs.ts';
import type { BatchOutcome } from '../../consumers/processor/types.ts';

export interface QueuedRequest {
  readonly request: CorrectionRequest;
  readonly eventMs: number;
}

export function correctionRequestsOf(
  outcome: Pick<BatchOutcome, 'corrections' | 'results'>,
): QueuedRequest[] {
  const queued: QueuedRequest[] = [];
  let next = 0;
  for (const output of outcome.results) {
    if (output.kind !== 'correction-request') continue;
    const request = outcome.corrections[next++];
    if (request === undefined || request.id !== output.id) break;
    queued.push({ request, eventMs: output.partitionMs });
  }
  // Should the pairing ever break, still queue every request: the window start is enough for all but GAP_FILLED.
  for (let i = queued.length; i < outcome.corrections.length; i++) {
    const request = outcome.corrections[i] as CorrectionRequest;
    queued.push({
      request,
      eventMs: request.windowStart === undefined ? 0 : Date.parse(request.windowStart),
    });
  }
  return queued;
}
