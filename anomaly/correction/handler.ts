/**
 * The correction handler: one request in, one outcome out. It claims the window in the history table with
 * a conditional write (at most one automatic correction per window), recalculates it from the raw archive
 * with the pipeline's own record processor, writes version n+1 next to the old versions (kept for audit)
 * and records the outcome. Anything it cannot finish becomes a dead letter with a reason; it never throws
 * for a bad request and never drops one.
 */
import { randomUUID } from 'node:crypto';
import type { FleetConfig } from '../../consumers/config.ts';
import { FleetstreamError } from '../../consumers/contract/errors.ts';
import { partitionPrefix } from '../../consumers/contract/layout.ts';
import { CorrectionReason, type WindowResult } from '../../consumers/contract/outputs.ts';
import { encodeOutput } from '../../consumers/processor/encode.ts';
import { DEFAULT_WARMUP_MS, loadWindowEvidence } from './evidence.ts';
import {
  type CorrectionHistory,
  type HistoryEvent,
  type HistoryItem,
  rangesInclude,
  seqRanges,
} from './history.ts';
import { type CorrectionMessage, requestKey } from './messages.ts';
import { DeadLetterReason } from './names.ts';
import { type AnomalousReadings, type RawLine, recalculateWindow, windowDifferences } from './recalculate.ts';
import { parseResultLines } from './results.ts';
import type { S3Store } from './s3-store.ts';

export interface CorrectionHandlerOptions {
  readonly store: S3Store;
  readonly history: CorrectionHistory;
  /** The fleet configuration the stream runs with (window size, lateness, metrics). */
  readonly config: FleetConfig;
  /** What a corrected window does with readings the stream flagged as anomalous. @default 'exclude' */
  readonly anomalousReadings?: AnomalousReadings;
  /**
   * Archive read before the window, ms, so counter deltas, `expected` and the previous window are as
   * the stream saw them. @default 3600000 (one hour partition)
   */
  readonly warmupMs?: number;
  /** A claim older than this is taken over (its handler died mid-correction), ms. @default 300000 */
  readonly claimTimeoutMs?: number;
  /** Identifies this handler in claims. @default a random UUID */
  readonly owner?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

export type HandleOutcome =
  | {
      readonly status: 'corrected';
      readonly resultId: string;
      readonly correctedId: string;
      readonly loop: boolean;
    }
  /** The window's one correction already contains what this request is about. */
  | { readonly status: 'covered'; readonly resultId: string }
  /** The recalculation equals the current version: nothing was wrong. */
  | { readonly status: 'confirmed'; readonly resultId: string }
  /** Another handler holds the claim right now: leave the message for redelivery. */
  | { readonly status: 'busy'; readonly resultId: string }
  | {
      readonly status: 'dead-letter';
      readonly resultId: string;
      readonly reason: DeadLetterReason;
      readonly error: { readonly code: string; readonly message: string };
    };

export interface CorrectionHandler {
  handle(message: CorrectionMessage): Promise<HandleOutcome>;
}

/** Key of a corrected version: deterministic, so a retried write lands on the same object. */
export function correctedObjectKey(window: WindowResult, windowStartMs: number): string {
  // The window's own results partition: readers of the device's hour find every version side by side.
  const partition = partitionPrefix('results', windowStartMs, window.deviceId);
  return `${partition}correction.${window.resultId.replaceAll(':', '_')}.v${window.version}.json`;
}

export function createCorrectionHandler(options: CorrectionHandlerOptions): CorrectionHandler {
  const { store, history, config } = options;
  const mode = options.anomalousReadings ?? 'exclude';
  const warmupMs = options.warmupMs ?? DEFAULT_WARMUP_MS;
  const claimTimeoutMs = options.claimTimeoutMs ?? 300_000;
  const owner = options.owner ?? randomUUID();
  const now = options.now ?? Date.now;

  async function handle(message: CorrectionMessage): Promise<HandleOutcome> {
    const { request } = message;
    const key = requestKey(request);
    const windowStartMs =
      request.windowStart === undefined
        ? Math.floor(message.eventMs / config.windowMs) * config.windowMs
        : Date.parse(request.windowStart);
    const resultId = `${request.deviceId}:w:${windowStartMs}`;
    const force = message.redrive?.force === true;
    const event = (outcome: HistoryEvent['outcome'], detail?: string): HistoryEvent => ({
      atMs: now(),
      requestKey: key,
      reason: request.reason,
      outcome,
      ...(detail === undefined ? {} : { detail }),
    });
    const deadLetter = async (
      reason: DeadLetterReason,
      code: string,
      text: string,
    ): Promise<HandleOutcome> => {
      await history.record(resultId, event('dead-lettered', `${reason}: ${text}`));
      return { status: 'dead-letter', resultId, reason, error: { code, message: text } };
    };

    let latest: WindowResult | undefined;
    let recalculated: ReturnType<typeof recalculateWindow>;
    try {
      const evidence = await loadWindowEvidence(store, config, request.deviceId, windowStartMs, warmupMs);
      latest = evidence.latest;
      if (latest === undefined)
        return await deadLetter(
          DeadLetterReason.ResultNotFound,
          'RESULT_NOT_FOUND',
          `no version of ${resultId} in results`,
        );
      const { anomalousSeqs, raw } = evidence;
      if (request.reason === CorrectionReason.Anomaly && request.seq !== undefined)
        anomalousSeqs.add(request.seq);
      recalculated = recalculateWindow({
        config,
        deviceId: request.deviceId,
        windowStartMs,
        raw,
        anomalousSeqs,
        anomalousReadings: mode,
      });
      const needsSeq =
        request.reason === CorrectionReason.LateEvent || request.reason === CorrectionReason.GapFilled;
      if (
        recalculated.window === undefined ||
        (needsSeq && request.seq !== undefined && !raw.some((r: RawLine) => r.seq === request.seq))
      )
        return await deadLetter(
          DeadLetterReason.RawNotFound,
          'RAW_NOT_FOUND',
          `raw archive lacks ${request.seq === undefined ? 'the window' : `seq ${request.seq}`} of ${resultId}`,
        );
    } catch (error) {
      return await deadLetter(DeadLetterReason.RecalculationFailed, codeOf(error), messageOf(error));
    }
    const proposed = recalculated.window as WindowResult;
    // The item's own corrected version is the truth once written: a results listing taken a moment
    // earlier may not show it yet, so a concurrent correction is read back by its key.
    const current = async (item: HistoryItem | undefined): Promise<WindowResult | undefined> =>
      item?.status === 'corrected' && item.objectKey !== undefined
        ? ((await readWindowObject(store, item.objectKey)) ?? latest)
        : latest;
    let item = await history.get(resultId);
    let base = (await current(item)) as WindowResult;
    let differences = windowDifferences(proposed, base);
    if (differences.length === 0) {
      const covered = item?.status === 'corrected';
      await history.record(resultId, event(covered ? 'covered' : 'confirmed', `equals ${base.id}`));
      return { status: covered ? 'covered' : 'confirmed', resultId };
    }
    const alreadyCorrected = async (corrected: HistoryItem): Promise<HandleOutcome> => {
      const seqCovered =
        request.seq !== undefined &&
        corrected.seqs !== undefined &&
        rangesInclude(corrected.seqs, request.seq);
      const detail = `${corrected.correctedId} differs from a fresh recalculation in ${differences.slice(0, 5).join(', ')}${seqCovered ? ` (seq ${request.seq} is in it)` : ''}`;
      return await deadLetter(DeadLetterReason.AlreadyCorrected, 'ALREADY_CORRECTED', detail);
    };
    if (item?.status === 'corrected' && !force) return await alreadyCorrected(item);
    const claimed = await history.claim(resultId, {
      owner,
      requestKey: key,
      reason: request.reason,
      nowMs: now(),
      staleBeforeMs: now() - claimTimeoutMs,
      force,
    });
    if (!claimed) {
      item = await history.get(resultId);
      if (item?.status !== 'corrected') return { status: 'busy', resultId };
      base = (await current(item)) as WindowResult;
      differences = windowDifferences(proposed, base);
      if (differences.length === 0) {
        await history.record(resultId, event('covered', `equals ${base.id}, written concurrently`));
        return { status: 'covered', resultId };
      }
      return await alreadyCorrected(item);
    }
    if (base.version > latest.version) latest = base;
    const version = latest.version + 1;
    const corrected: WindowResult = {
      ...proposed,
      id: `${resultId}:v${version}`,
      version,
      correction: { requestId: request.id, reason: request.reason, supersedes: latest.id },
    };
    const objectKey = correctedObjectKey(corrected, windowStartMs);
    try {
      await store.put(objectKey, encodeOutput(corrected, windowStartMs).line);
      const corrections = await history.complete(resultId, owner, {
        version,
        correctedId: corrected.id,
        supersedes: latest.id,
        objectKey,
        seqs: seqRanges(recalculated.seqs),
        event: event('corrected', `${latest.id} → ${corrected.id}: ${differences.slice(0, 5).join(', ')}`),
      });
      // More than one automatic correction of an item is a loop; the claim's condition should make it impossible.
      return { status: 'corrected', resultId, correctedId: corrected.id, loop: corrections > 1 && !force };
    } catch (error) {
      await history.release(resultId, owner, messageOf(error), event('failed', messageOf(error)));
      return {
        status: 'dead-letter',
        resultId,
        reason: DeadLetterReason.RecalculationFailed,
        error: { code: codeOf(error), message: messageOf(error) },
      };
    }
  }

  return { handle };
}

async function readWindowObject(store: S3Store, key: string): Promise<WindowResult | undefined> {
  const [line] = await store.lines({ key, etag: 'correction', lastModifiedMs: 0, size: 0 });
  return line === undefined ? undefined : parseResultLines([line]).windows[0];
}

function codeOf(error: unknown): string {
  if (error instanceof FleetstreamError) return error.code;
  return error instanceof Error ? error.name : 'UNKNOWN';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
