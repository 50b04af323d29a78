/**
 * The backtest format shared with NAB: `timestamp,value` rows. Timestamps are ISO-8601 or NAB's
 * `YYYY-MM-DD HH:MM:SS[.ffffff]`, read as UTC when they carry no zone.
 */
import { FleetstreamError } from '../consumers/contract/errors.ts';

export interface SeriesRow {
  /** The timestamp text as read, written back unchanged. */
  readonly timestamp: string;
  readonly tsMs: number;
  /** The value text as read, written back unchanged. */
  readonly valueText: string;
  /** NaN when the cell is not a number: the scorer scores it 0 without folding it in. */
  readonly value: number;
}

/** A backtest input that cannot be read (no header, a bad timestamp); names the line. */
export class SeriesFormatError extends FleetstreamError {
  constructor(message: string) {
    super('SERIES_FORMAT', message);
  }
}

const ZONED = /(Z|[+-]\d\d:?\d\d)$/;

export function parseTimestampMs(text: string): number {
  const iso = text.trim().replace(' ', 'T');
  return Date.parse(ZONED.test(iso) ? iso : `${iso}Z`);
}

export function parseSeriesCsv(text: string): SeriesRow[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().toLowerCase().split(',');
  const tsColumn = header.indexOf('timestamp');
  const valueColumn = header.indexOf('value');
  if (tsColumn < 0 || valueColumn < 0) {
    throw new SeriesFormatError(
      `line 1: expected a header with columns timestamp,value, got '${lines[0] ?? ''}'`,
    );
  }
  const rows: SeriesRow[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const timestamp = (cells[tsColumn] ?? '').trim();
    const tsMs = parseTimestampMs(timestamp);
    if (!Number.isFinite(tsMs))
      throw new SeriesFormatError(`line ${n + 1}: '${timestamp}' is not a timestamp`);
    const valueText = (cells[valueColumn] ?? '').trim();
    rows.push({ timestamp, tsMs, valueText, value: valueText === '' ? Number.NaN : Number(valueText) });
  }
  return rows;
}
