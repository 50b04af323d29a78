/**
 * Readers over the results in S3. Corrections never overwrite: a corrected window is a new object with a
 * higher `version` under the same partition, so a reader keeps, per `resultId`, the highest version.
 */
import { withoutPartitionFields } from '../../consumers/contract/layout.ts';
import type { AnomalyRecord, WindowResult } from '../../consumers/contract/outputs.ts';
import type { S3Store } from './s3-store.ts';

type Line = { readonly kind?: string } & Record<string, unknown>;

/** The highest version per resultId; older versions stay in S3 for audit. */
export function latestVersions(windows: Iterable<WindowResult>): Map<string, WindowResult> {
  const latest = new Map<string, WindowResult>();
  for (const window of windows) {
    const seen = latest.get(window.resultId);
    if (seen === undefined || window.version > seen.version) latest.set(window.resultId, window);
  }
  return latest;
}

export interface PartitionResults {
  readonly windows: WindowResult[];
  readonly anomalies: AnomalyRecord[];
}

/** Parses result lines, keeping windows and anomaly records (optionally of one device only). */
export function parseResultLines(lines: Iterable<string>, deviceId?: string): PartitionResults {
  const windows: WindowResult[] = [];
  const anomalies: AnomalyRecord[] = [];
  // Cheap substring test first: a partition holds every device's lines.
  const needle = deviceId === undefined ? undefined : `"deviceId":${JSON.stringify(deviceId)}`;
  for (const text of lines) {
    if (needle !== undefined && !text.includes(needle)) continue;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      continue;
    }
    if (line.kind === 'window') windows.push(withoutPartitionFields(line) as unknown as WindowResult);
    else if (line.kind === 'anomaly')
      anomalies.push(withoutPartitionFields(line) as unknown as AnomalyRecord);
  }
  return { windows, anomalies };
}

/** Latest version of every window whose partition falls in [fromMs, toMs). */
export async function readLatestWindows(
  store: S3Store,
  fromMs: number,
  toMs: number,
): Promise<Map<string, WindowResult>> {
  const { windows } = parseResultLines(await store.partitionLines('results', fromMs, toMs));
  return latestVersions(windows);
}

/**
 * The same "latest version wins" over the partitioned results in Athena (Glue table `results`, partition
 * projection on dt/hour/part; Glue lower-cases column names). The two `?` are the first and last `dt`
 * (execution parameters): filtering partitions first makes Athena read only those days.
 */
export const ATHENA_LATEST_WINDOWS_SQL = `SELECT *
FROM (
  SELECT r.*,
         row_number() OVER (PARTITION BY r.resultid ORDER BY r.version DESC) AS version_rank
  FROM results r
  WHERE r.kind = 'window'
    AND r.dt BETWEEN ? AND ?
)
WHERE version_rank = 1`;

/** Latest version of every window under a prefix (a whole run; prefer the partitioned reader for ranges). */
export async function readLatestWindowsUnder(
  store: S3Store,
  prefix = 'results/',
): Promise<Map<string, WindowResult>> {
  const lines: string[] = [];
  for (const object of await store.list(prefix)) lines.push(...(await store.lines(object)));
  return latestVersions(parseResultLines(lines).windows);
}
