/**
 * The request and response formats of SageMaker's built-in Random Cut Forest inference, so clients written
 * for a SageMaker RCF endpoint work against ours:
 *   text/csv                one record per line, comma-separated numbers
 *   application/json        {"instances": [{"features": [x1, x2, …]}, …]}
 *   application/jsonlines   one {"features": [x1, x2, …]} per line
 * The answer is always application/json: {"scores": [{"score": s1}, …]}, in request order.
 */
import { ModelInputError } from '../errors.ts';

/** SageMaker real-time inference refuses payloads above 6 MB (InvokeEndpoint quota); so do we. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export const SUPPORTED_CONTENT_TYPES = ['text/csv', 'application/json', 'application/jsonlines'] as const;
export type SupportedContentType = (typeof SUPPORTED_CONTENT_TYPES)[number];

/** The media type without parameters (`text/csv; label_size=0` → `text/csv`), lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isSupportedContentType(type: string): type is SupportedContentType {
  return (SUPPORTED_CONTENT_TYPES as readonly string[]).includes(type);
}

/** Whether an Accept header allows our JSON answer (absent, wildcard, or application/json). */
export function acceptsJson(header: string | undefined): boolean {
  if (header === undefined || header.trim() === '') return true;
  return header.split(',').some((part) => {
    const type = mediaType(part);
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}

function record(values: readonly unknown[], where: string, dimensions: number): number[] {
  if (values.length !== dimensions) {
    throw new ModelInputError(`${where}: expected ${dimensions} features, got ${values.length}`);
  }
  return values.map((v, j) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelInputError(`${where}: feature ${j} is not a finite number`);
    }
    return v;
  });
}

/**
 * A CSV cell as a number: plain decimal, optionally signed, with an optional exponent. `Number()` alone
 * would also take `0x10`, `0b1` or `Infinity`, which are not feature values.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseCsv(text: string, dimensions: number): number[][] {
  const rows: number[][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const values = line.split(',').map((cell) => {
      const trimmed = cell.trim();
      // Number('') is 0; an empty cell is a missing value, not a zero.
      return DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
    });
    rows.push(record(values, `line ${i + 1}`, dimensions));
  });
  return rows;
}

function featuresOf(instance: unknown, where: string, dimensions: number): number[] {
  const features = (instance as { features?: unknown } | null)?.features;
  if (!Array.isArray(features))
    throw new ModelInputError(`${where}: expected an object with a "features" array`);
  return record(features, where, dimensions);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ModelInputError(`${where}: not valid JSON`);
  }
}

/**
 * Parses an invocation body into records of `dimensions` values each; throws ModelInputError with the
 * reason. A body without a single record is refused: an empty answer would look like a scored batch.
 */
export function parseRecords(type: SupportedContentType, body: Buffer, dimensions: number): number[][] {
  const records = parseBody(type, body, dimensions);
  if (records.length === 0) throw new ModelInputError('body: no records to score');
  return records;
}

function parseBody(type: SupportedContentType, body: Buffer, dimensions: number): number[][] {
  const text = body.toString('utf8');
  switch (type) {
    case 'text/csv':
      return parseCsv(text, dimensions);
    case 'application/json': {
      const instances = (parseJson(text, 'body') as { instances?: unknown } | null)?.instances;
      if (!Array.isArray(instances)) throw new ModelInputError('body: expected {"instances": [...]}');
      return instances.map((instance, i) => featuresOf(instance, `instances[${i}]`, dimensions));
    }
    case 'application/jsonlines': {
      const rows: number[][] = [];
      text.split(/\r?\n/).forEach((line, i) => {
        if (line.trim() === '') return;
        rows.push(featuresOf(parseJson(line, `line ${i + 1}`), `line ${i + 1}`, dimensions));
      });
      return rows;
    }
  }
}

export function encodeScores(scores: readonly number[]): string {
  return JSON.stringify({ scores: scores.map((score) => ({ score })) });
}

/** Reads `{"scores":[{"score":x},…]}` (the client side); undefined when the shape is wrong. */
export function decodeScores(text: string): number[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const scores = (parsed as { scores?: unknown } | null)?.scores;
  if (!Array.isArray(scores)) return undefined;
  const out: number[] = [];
  for (const entry of scores) {
    const score = (entry as { score?: unknown } | null)?.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) return undefined;
    out.push(score);
  }
  return out;
}
