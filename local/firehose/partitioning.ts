/**
 * Pure pieces of Firehose delivery: the MetadataExtraction query (`{dt:.dt,hour:.hour}`), evaluation of
 * its simple jq paths against a JSON record, and the S3 prefix namespaces `!{partitionKeyFromQuery:…}`,
 * `!{timestamp:…}`, `!{firehose:…}`. Only the jq subset the pipeline uses is supported (dotted paths);
 * anything else is refused when the delivery stream is created, not when records arrive.
 */

/** Output key → path segments, e.g. `{ dt: ['dt'] }`. */
export type ExtractionQuery = Readonly<Record<string, readonly string[]>>;

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
const PATH = new RegExp(`^(?:\\.${IDENTIFIER})+$`);
const ENTRY = new RegExp(`^(${IDENTIFIER})\\s*:\\s*(\\S+)$`);

/** Parses `{key:.path, key2:.a.b}`; returns an error message for anything outside the supported subset. */
export function parseExtractionQuery(text: string): ExtractionQuery | string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return `unsupported jq expression: ${text}`;
  const body = trimmed.slice(1, -1).trim();
  if (body === '') return 'the query must extract at least one key';
  const query: Record<string, string[]> = {};
  for (const part of body.split(',')) {
    const match = ENTRY.exec(part.trim());
    const path = match?.[2];
    if (match === null || path === undefined || !PATH.test(path)) {
      return `unsupported jq expression '${part.trim()}': only {key:.dotted.path} is supported locally`;
    }
    query[match[1]!] = path.slice(1).split('.');
  }
  return query;
}

/**
 * The partition keys of one record, or an error message when the record is not JSON or a key is missing
 * or not a scalar (Firehose sends such records to the error output prefix).
 */
export function extractPartitionKeys(data: Buffer, query: ExtractionQuery): Record<string, string> | string {
  let document: unknown;
  try {
    document = JSON.parse(data.toString('utf8'));
  } catch {
    return 'record is not valid JSON';
  }
  const keys: Record<string, string> = {};
  for (const key in query) {
    const path = query[key]!;
    let value: unknown = document;
    for (const segment of path) {
      value =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? (value as Record<string, unknown>)[segment]
          : undefined;
    }
    if (typeof value === 'string' && value !== '') keys[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') keys[key] = String(value);
    else return `partition key '${key}' (.${path.join('.')}) is missing or not a scalar`;
  }
  return keys;
}

const TIMESTAMP_TOKENS: ReadonlyArray<readonly [string, (date: Date) => string]> = [
  ['yyyy', (d) => String(d.getUTCFullYear()).padStart(4, '0')],
  ['MM', (d) => String(d.getUTCMonth() + 1).padStart(2, '0')],
  ['dd', (d) => String(d.getUTCDate()).padStart(2, '0')],
  ['HH', (d) => String(d.getUTCHours()).padStart(2, '0')],
  ['mm', (d) => String(d.getUTCMinutes()).padStart(2, '0')],
  ['ss', (d) => String(d.getUTCSeconds()).padStart(2, '0')],
];

/** The Java DateTimeFormatter letters Firehose prefixes use, always in UTC. */
export function formatTimestamp(pattern: string, epochMs: number): string {
  const date = new Date(epochMs);
  let out = '';
  for (let i = 0; i < pattern.length; ) {
    const token = TIMESTAMP_TOKENS.find(([letters]) => pattern.startsWith(letters, i));
    if (token === undefined) {
      out += pattern[i];
      i += 1;
    } else {
      out += token[1](date);
      i += token[0].length;
    }
  }
  return out;
}

export interface PrefixValues {
  readonly arrivalMs: number;
  readonly partitionKeys?: Readonly<Record<string, string>>;
  readonly errorOutputType?: string;
}

type PrefixPart = string | ((values: PrefixValues) => string);

/** Prefixes split once into literal text and the namespaces to evaluate; rendering runs per record. */
const compiledPrefixes = new Map<string, readonly PrefixPart[]>();

function compilePrefix(prefix: string): readonly PrefixPart[] {
  const parts: PrefixPart[] = [];
  let last = 0;
  for (const match of prefix.matchAll(/!\{([A-Za-z]+):([^}]*)\}/g)) {
    const [whole, namespace, name] = match as unknown as [string, string, string];
    if (match.index > last) parts.push(prefix.slice(last, match.index));
    last = match.index + whole.length;
    if (namespace === 'partitionKeyFromQuery') {
      parts.push((values) => {
        const value = values.partitionKeys?.[name];
        if (value === undefined)
          throw new Error(`prefix names partition key '${name}' the query does not extract`);
        return value;
      });
    } else if (namespace === 'timestamp') parts.push((values) => formatTimestamp(name, values.arrivalMs));
    else if (namespace === 'firehose' && name === 'error-output-type') {
      parts.push((values) => values.errorOutputType ?? 'unknown');
    } else if (namespace === 'firehose' && name === 'random-string') {
      parts.push(() => Math.random().toString(36).slice(2, 13));
    } else parts.push(whole);
  }
  if (last < prefix.length) parts.push(prefix.slice(last));
  return parts;
}

/** Renders a prefix; throws if it names a partition key the record does not have (checked at create). */
export function renderPrefix(prefix: string, values: PrefixValues): string {
  let parts = compiledPrefixes.get(prefix);
  if (parts === undefined) {
    parts = compilePrefix(prefix);
    compiledPrefixes.set(prefix, parts);
  }
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : part(values);
  return out;
}

/** Names of the partition keys a prefix uses; CreateDeliveryStream checks them against the query. */
export function partitionKeysInPrefix(prefix: string): string[] {
  return [...prefix.matchAll(/!\{partitionKeyFromQuery:([^}]*)\}/g)].map((match) => match[1]!);
}

/** Firehose's default prefix when none is configured: `YYYY/MM/dd/HH/` in UTC. */
export const DEFAULT_PREFIX = '!{timestamp:yyyy/MM/dd/HH}/';

/** `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>`, as Firehose names its objects. */
export function objectName(streamName: string, version: number, arrivalMs: number, random: string): string {
  return `${streamName}-${version}-${formatTimestamp('yyyy-MM-dd-HH-mm-ss', arrivalMs)}-${random}`;
}
