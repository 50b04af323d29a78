/** The NAB subset on `../shared/nab`, loaded as series with their windows as row ranges (SCORING.md §1). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSeriesCsv, parseTimestampMs } from '../../anomaly/series-csv.ts';
import type { NabSeries } from './nab.ts';
import { type Half, splitHalves } from './split.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NAB_DIR = path.resolve(repoRoot, '..', 'shared', 'nab');

export interface LoadedSeries extends NabSeries {
  readonly timestampsMs: number[];
  readonly values: number[];
  /** The file's half in the fixed split (split.ts), computed over the whole corpus. */
  readonly half: Half;
}

export interface CorpusFilter {
  /** Keep files whose name contains this. */
  readonly only?: string | undefined;
  /** Keep the files of this half of the split. */
  readonly half?: Half | undefined;
}

export function loadCorpus(filter: CorpusFilter = {}): LoadedSeries[] {
  const labels = JSON.parse(
    readFileSync(path.join(NAB_DIR, 'labels', 'combined_windows.json'), 'utf8'),
  ) as Record<string, [string, string][]>;
  // The split is over every labelled file, so --only never moves a file to the other half.
  const halves = splitHalves(Object.keys(labels));
  return Object.keys(labels)
    .filter((name) => filter.only === undefined || name.includes(filter.only))
    .filter((name) => filter.half === undefined || halves.get(name) === filter.half)
    .sort()
    .map((name) => {
      const rows = parseSeriesCsv(readFileSync(path.join(NAB_DIR, 'data', name), 'utf8'));
      const timestampsMs = rows.map((r) => r.tsMs);
      const windows = labels[name]!.map(([start, end]) => {
        const left = timestampsMs.indexOf(parseTimestampMs(start));
        const right = timestampsMs.indexOf(parseTimestampMs(end));
        // §1: every boundary is a timestamp of the file; anything else is a corrupt labels file.
        if (left < 0 || right < left) throw new Error(`${name}: window [${start}, ${end}] not in the data`);
        return [left, right] as const;
      });
      return {
        name,
        rows: rows.length,
        windows,
        timestampsMs,
        values: rows.map((r) => r.value),
        half: halves.get(name)!,
      };
    });
}
