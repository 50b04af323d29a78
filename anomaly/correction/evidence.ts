/**
 * What a recalculation of one window needs from S3: its versions and anomaly records (results partition
 * of the window) and the device's archived events from the warm-up through the window's end (raw
 * partitions by device time). Both read only the device's part of each hour.
 */
import type { FleetConfig } from '../../consumers/config.ts';
import type { WindowResult } from '../../consumers/contract/outputs.ts';
import { parseRawLine, type RawLine } from './recalculate.ts';
import { latestVersions, parseResultLines } from './results.ts';
import type { S3Store } from './s3-store.ts';

export interface WindowEvidence {
  readonly resultId: string;
  /** Highest version in S3, or undefined when none was delivered (yet). */
  readonly latest: WindowResult | undefined;
  /** Seqs of the window's readings the stream flagged as anomalous. */
  readonly anomalousSeqs: Set<number>;
  readonly raw: RawLine[];
}

/**
 * Archive read before a window, ms, so counter deltas, `expected` and the previous window are as the stream
 * saw them: one hour partition. The handler and the verifier default to it.
 */
export const DEFAULT_WARMUP_MS = 3_600_000;

export async function loadWindowEvidence(
  store: S3Store,
  config: FleetConfig,
  deviceId: string,
  windowStartMs: number,
  warmupMs: number,
): Promise<WindowEvidence> {
  const resultId = `${deviceId}:w:${windowStartMs}`;
  const windowEndMs = windowStartMs + config.windowMs;
  const results = parseResultLines(
    await store.partitionLines('results', windowStartMs, windowEndMs, deviceId),
    deviceId,
  );
  const anomalousSeqs = new Set(results.anomalies.filter((a) => a.resultId === resultId).map((a) => a.seq));
  const lines = await store.partitionLines('raw', windowStartMs - warmupMs, windowEndMs, deviceId);
  return {
    resultId,
    latest: latestVersions(results.windows).get(resultId),
    anomalousSeqs,
    raw: rawOfDevice(lines, deviceId),
  };
}

function rawOfDevice(lines: readonly string[], deviceId: string): RawLine[] {
  const needle = `"deviceId":${JSON.stringify(deviceId)}`;
  const raw: RawLine[] = [];
  for (const line of lines) {
    if (!line.includes(needle)) continue;
    const parsed = parseRawLine(line);
    if (parsed !== undefined && parsed.deviceId === deviceId) raw.push(parsed);
  }
  return raw;
}
