/**
 * The verifier: re-derives a sample of emitted windows from the raw archive and asks for a MISMATCH
 * correction when the stream's result differs ("wrongly processed"). The sample is deterministic by id
 * hash, so every verifier instance and every rerun checks the same windows; flagged windows (gaps,
 * anomalies) are always checked. Only first versions are verified: a corrected version was itself just
 * re-derived from the archive, and re-checking it would be the start of a loop.
 */
import type { FleetConfig } from '../../consumers/config.ts';
import { fnv1a } from '../../consumers/contract/hash.ts';
import {
  CorrectionReason,
  type CorrectionRequest,
  type WindowResult,
} from '../../consumers/contract/outputs.ts';
import { DEFAULT_WARMUP_MS, loadWindowEvidence } from './evidence.ts';
import { recalculateWindow, windowDifferences } from './recalculate.ts';
import { readLatestWindows } from './results.ts';
import type { S3Store } from './s3-store.ts';

/** Whether the verifier checks this window: always when flagged, else a `rate` fraction chosen by id hash. */
export function selectedForVerification(window: WindowResult, rate: number): boolean {
  if (window.version !== 1) return false;
  if (window.anomalous > 0 || window.completeness < 1) return true;
  return fnv1a(window.resultId) / 2 ** 32 < rate;
}

export interface VerifyOptions {
  readonly store: S3Store;
  readonly config: FleetConfig;
  /** Fraction of unflagged windows re-derived, in [0, 1]. @default 0.05 */
  readonly rate?: number;
  /** @default 3600000 — as the correction handler */
  readonly warmupMs?: number;
}

export interface Mismatch {
  readonly request: CorrectionRequest;
  readonly eventMs: number;
  readonly differences: readonly string[];
}

export interface VerificationReport {
  readonly windows: number;
  readonly checked: number;
  readonly mismatches: Mismatch[];
}

/** Verifies the windows whose partitions fall in [fromMs, toMs). */
export async function verifyWindows(
  options: VerifyOptions,
  fromMs: number,
  toMs: number,
): Promise<VerificationReport> {
  const rate = options.rate ?? 0.05;
  const warmupMs = options.warmupMs ?? DEFAULT_WARMUP_MS;
  const latest = await readLatestWindows(options.store, fromMs, toMs);
  const mismatches: Mismatch[] = [];
  let checked = 0;
  for (const window of latest.values()) {
    if (!selectedForVerification(window, rate)) continue;
    checked++;
    const windowStartMs = Date.parse(window.windowStart);
    const evidence = await loadWindowEvidence(
      options.store,
      options.config,
      window.deviceId,
      windowStartMs,
      warmupMs,
    );
    // 'mark' re-derives what the stream should have emitted; excluding anomalies is the handler's business.
    const { window: derived } = recalculateWindow({
      config: options.config,
      deviceId: window.deviceId,
      windowStartMs,
      raw: evidence.raw,
      anomalousSeqs: evidence.anomalousSeqs,
      anomalousReadings: 'mark',
    });
    if (derived === undefined) continue;
    const differences = windowDifferences(derived, window);
    if (differences.length === 0) continue;
    mismatches.push({
      request: {
        kind: 'correction-request',
        id: `${window.resultId}:c:${CorrectionReason.Mismatch}`,
        reason: CorrectionReason.Mismatch,
        deviceId: window.deviceId,
        targetId: window.resultId,
        windowStart: window.windowStart,
        detail: `re-derived window differs in ${differences.slice(0, 5).join(', ')}`,
      },
      eventMs: windowStartMs,
      differences,
    });
  }
  return { windows: latest.size, checked, mismatches };
}
