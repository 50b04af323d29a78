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

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x7b, 0x5b]); // { [
const CLOSE = new Set([0x7d, 0x5d]); // } ]

/** The sub-records of one record, or why it cannot be split. */
export function splitSubRecords(data: Buffer, how: SubRecordType): Buffer[] | string {
  const parts = how.type === 'JSON' ? splitJson(data) : splitDelimited(data, Buffer.from(how.delimiter));
  if (typeof parts === 'string') return parts;
  if (parts.length > MAX_SUB_RECORDS) {
    return `record holds ${parts.length} sub-records; deaggregation is capped at ${MAX_SUB_RECORDS}`;
  }
  return parts;
}

/** Top-level JSON objects, by bracket depth outside strings; whitespace between them is dropped. */
function splitJson(data: Buffer): Buffer[] | string {
  const parts: Buffer[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (depth === 0) {
      if (WHITESPACE.has(byte)) continue;
      if (byte !== 0x7b) return `sub-record at byte ${i} is not a JSON object`;
      start = i;
    }
    if (byte === QUOTE) inString = true;
    else if (OPEN.has(byte)) depth++;
    else if (CLOSE.has(byte)) {
      depth--;
      if (depth === 0) parts.push(data.subarray(start, i + 1));
    }
  }
  if (depth !== 0 || inString) return 'record ends inside a JSON object';
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
