/**
 * Corrections over a finished run (`npm start`, replay): every correction request the stream wrote to
 * the results (they are there for audit) is queued, the verifier samples the run's windows, and the
 * loop drains. Same handler, queues and history as the continuous loop; only the feeding differs.
 */
import { withoutPartitionFields } from '../../consumers/contract/layout.ts';
import type { CorrectionRequest } from '../../consumers/contract/outputs.ts';
import type { QueuedRequest } from './from-outcome.ts';
import { ensureCorrectionQueues, sendCorrectionRequests } from './queues.ts';
import {
  type CorrectionClients,
  type CorrectionOptions,
  CorrectionService,
  type CorrectionStats,
} from './service.ts';

/**
 * Correction requests among result lines, each with the event time the handler needs. A GAP_FILLED
 * request names a seq, not a window, so its time comes from that reading's own result line.
 */
export function requestsFromResultLines(lines: Iterable<string>): QueuedRequest[] {
  const requests: CorrectionRequest[] = [];
  const readingTs = new Map<string, number>();
  const wanted = new Set<string>();
  const parsed: Array<Record<string, unknown>> = [];
  for (const text of lines) {
    if (!text.includes('"kind":"correction-request"') && !text.includes('"kind":"reading"')) continue;
    try {
      parsed.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // Not a line this reader understands; the results inventory reports those.
    }
  }
  for (const line of parsed) {
    if (line.kind !== 'correction-request') continue;
    const request = withoutPartitionFields(line);
    requests.push(request as unknown as CorrectionRequest);
    if (request.reason === 'GAP_FILLED') wanted.add(`${String(request.deviceId)}:r:${String(request.seq)}`);
  }
  for (const line of parsed) {
    if (line.kind === 'reading' && wanted.has(line.id as string))
      readingTs.set(line.id as string, Date.parse(line.ts as string));
  }
  return requests.map((request) => ({
    request,
    eventMs:
      request.windowStart !== undefined
        ? Date.parse(request.windowStart)
        : (readingTs.get(`${request.deviceId}:r:${request.seq}`) ?? Number.NaN),
  }));
}

export interface AfterRunOptions extends CorrectionOptions {
  /** Results prefix of the run. @default 'results/' */
  readonly resultsPrefix?: string;
}

/** Runs the whole correction pass over a run's results and returns the summary's `corrections` section. */
export async function correctAfterRun(
  clients: CorrectionClients,
  options: AfterRunOptions = {},
): Promise<CorrectionStats> {
  const urls = await ensureCorrectionQueues(clients.sqs, options.queues);
  const service = new CorrectionService(clients, urls, options);
  const lines: string[] = [];
  for (const object of await service.store.list(options.resultsPrefix ?? 'results/')) {
    lines.push(...(await service.store.lines(object)));
  }
  const requests = requestsFromResultLines(lines).filter((q) => Number.isFinite(q.eventMs));
  await sendCorrectionRequests(clients.sqs, urls.queueUrl, requests);
  const span = windowSpan(lines);
  if (span !== undefined) await service.verify(span.fromMs, span.toMs);
  return await service.drain();
}

function windowSpan(lines: readonly string[]): { fromMs: number; toMs: number } | undefined {
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = Number.NEGATIVE_INFINITY;
  for (const line of lines) {
    const at = line.indexOf('"windowStart":"');
    if (at < 0) continue;
    const ms = Date.parse(line.slice(at + 15, at + 39));
    if (ms < fromMs) fromMs = ms;
    if (ms + 1 > toMs) toMs = ms + 1;
  }
  return Number.isFinite(fromMs) ? { fromMs, toMs } : undefined;
}
