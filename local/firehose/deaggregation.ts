/**
 * Multi-record deaggregation, Firehose's `RecordDeAggregation` processor: a producer packs many small records
 * into one Firehose record (ingestion is billed per record, rounded up to 5 KB) and the delivery stream splits
 * them again before dynamic partitioning. `JSON` splits a run of JSON objects (JSONL or back to back);
 * `DELIMITED` splits on a delimiter. Firehose caps deaggregation at 500 sub-records per record.
 */

export type SubRecordType =
  | { readonly type: 'JSON' }
  /** `delimiter` is the decoded delimiter (the API takes it base64). */
  | { readonly type: 'DELIMITED'; readonly delimiter: string };

export const MAX_SUB_RECORDS = 500;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]

/** The sub-records of one record, or why it cannot be split. */
export function splitSubRecords(data: Buffer, how: SubRecordType): Buffer[] | string {
  const parts = how.type === 'JSON' ? splitJson(data) : splitDelimited(data, Buffer.from(how.delimiter));
  if (typeof parts === 'string') return parts;
  if (parts.length > MAX_SUB_RECORDS) {
    return `record holds ${parts.length} sub-records; deaggregation is capped at ${MAX_SUB_RECORDS}`;
  }
  return parts;
}

/**
 * Top-level JSON objects, by bracket depth outside strings; whitespace between them is dropped. Runs over
 * every byte a producer sends, so the tests are plain comparisons.
 */
function splitJson(data: Buffer): Buffer[] | string {
  const parts: Buffer[] = [];
  let depth = 0;
  let start = -1;
  const length = data.length;
  for (let i = 0; i < length; i++) {
    const byte = data[i]!;
    if (depth === 0) {
      if (byte === SPACE || byte === LF || byte === CR || byte === TAB) continue;
      if (byte !== OPEN_OBJECT) return `sub-record at byte ${i} is not a JSON object`;
      start = i;
      depth = 1;
    } else if (byte === QUOTE) {
      // To the closing quote; a backslash escapes the byte after it.
      for (i++; i < length; i++) {
        const inner = data[i]!;
        if (inner === BACKSLASH) i++;
        else if (inner === QUOTE) break;
      }
      if (i >= length) return 'record ends inside a JSON object';
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) parts.push(data.subarray(start, i + 1));
    }
  }
  if (depth !== 0) return 'record ends inside a JSON object';
  return parts;
}

function splitDelimited(data: Buffer, delimiter: Buffer): Buffer[] | string {
  if (delimiter.length === 0) return 'the delimiter is empty';
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = data.indexOf(delimiter, from); at >= 0; at = data.indexOf(delimiter, from)) {
    parts.push(data.subarray(from, at));
    from = at + delimiter.length;
  }
  if (from < data.length) parts.push(data.subarray(from));
  return parts;
}
