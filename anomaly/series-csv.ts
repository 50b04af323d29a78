/**
 * The backtest format shared with NAB: `timestamp,value` rows. Timestamps are ISO-8601 instants or NAB's
 * `YYYY-MM-DD HH:MM:SS[.ffffff]`, read as UTC when they carry no zone, and checked as strictly as the
 * stream checks a device's clock (no February 30, no bare numbers). Values are plain decimal numbers.
 */
import { FleetstreamError } from '../consumers/contract/errors.ts';
import { parseInstant } from '../consumers/contract/instant.ts';

export interface SeriesRow {
  /** 1-based line in the input. */
  readonly line: number;
  /** The timestamp text as read, written back unchanged. */
  readonly timestamp: string;
  readonly tsMs: number;
  /** The value text as read, written back unchanged. */
  readonly valueText: string;
  /** NaN when the cell is not a finite decimal number: the scorer scores it 0 without folding it in. */
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
  return parseInstant(ZONED.test(iso) ? iso : `${iso}Z`);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite decimal number, or NaN (`Number` alone would also take hex, binary and '' as 0). */
export function parseDecimal(text: string): number {
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  return Number.isFinite(value) ? value : Number.NaN;
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
    rows.push({ line: n + 1, timestamp, tsMs, valueText, value: parseDecimal(valueText) });
  }
  return rows;
}
