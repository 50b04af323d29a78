/**
 * EventBridge event patterns, pure: validation (what PutRule refuses with InvalidEventPatternException)
 * and matching against an event envelope. Supported: nested fields, exact values (string, number,
 * boolean, null), `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (values or a prefix),
 * `numeric` ranges, `exists`, and `$or`. A field that is an array in the event matches if any element
 * does, as in EventBridge.
 */

type Matcher =
  | { readonly kind: 'exact'; readonly value: string | number | boolean | null }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'equalsIgnoreCase'; readonly value: string }
  | { readonly kind: 'anythingBut'; readonly values: readonly (string | number)[] }
  | { readonly kind: 'anythingButPrefix'; readonly value: string }
  | { readonly kind: 'numeric'; readonly bounds: readonly (readonly [Comparison, number])[] }
  | { readonly kind: 'exists'; readonly value: boolean };

type Comparison = '<' | '<=' | '=' | '>' | '>=';

/** A validated pattern: each key holds either the allowed values of a leaf or a nested pattern. */
export interface EventPattern {
  readonly fields: ReadonlyMap<string, readonly Matcher[] | EventPattern>;
  /** Alternatives from `$or`; the pattern matches if its fields and any one alternative match. */
  readonly or: readonly EventPattern[];
}

export class EventPatternError extends Error {}

const COMPARISONS = new Set<string>(['<', '<=', '=', '>', '>=']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMatcher(value: unknown, path: string): Matcher {
  if (value === null || typeof value === 'string' || typeof value === 'boolean')
    return { kind: 'exact', value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EventPatternError(`${path}: numbers must be finite`);
    return { kind: 'exact', value };
  }
  if (!isObject(value))
    throw new EventPatternError(
      `${path}: a match value must be a string, number, boolean, null or an operator object`,
    );
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new EventPatternError(`${path}: an operator object has exactly one key`);
  const [operator, operand] = entries[0]!;
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw new EventPatternError(`${path}: ${operator} takes a string`);
      return { kind: operator === 'equals-ignore-case' ? 'equalsIgnoreCase' : operator, value: operand };
    case 'exists':
      if (typeof operand !== 'boolean') throw new EventPatternError(`${path}: exists takes true or false`);
      return { kind: 'exists', value: operand };
    case 'anything-but': {
      if (isObject(operand)) {
        const prefix = operand.prefix;
        if (Object.keys(operand).length !== 1 || typeof prefix !== 'string') {
          throw new EventPatternError(`${path}: anything-but takes values or {"prefix": "…"}`);
        }
        return { kind: 'anythingButPrefix', value: prefix };
      }
      const values = Array.isArray(operand) ? operand : [operand];
      if (values.length === 0 || !values.every((v) => typeof v === 'string' || typeof v === 'number')) {
        throw new EventPatternError(
          `${path}: anything-but takes a string, a number or a non-empty list of them`,
        );
      }
      return { kind: 'anythingBut', values: values as (string | number)[] };
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) {
        throw new EventPatternError(`${path}: numeric takes one or two [operator, number] pairs`);
      }
      const bounds: [Comparison, number][] = [];
      for (let i = 0; i < operand.length; i += 2) {
        const comparison = operand[i];
        const bound = operand[i + 1];
        if (typeof comparison !== 'string' || !COMPARISONS.has(comparison) || typeof bound !== 'number') {
          throw new EventPatternError(
            `${path}: numeric expects operators <, <=, =, >, >= followed by numbers`,
          );
        }
        bounds.push([comparison as Comparison, bound]);
      }
      return { kind: 'numeric', bounds };
    }
    default:
      throw new EventPatternError(`${path}: unsupported operator '${operator}'`);
  }
}

function parseObject(value: Record<string, unknown>, path: string): EventPattern {
  const fields = new Map<string, readonly Matcher[] | EventPattern>();
  const or: EventPattern[] = [];
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(child) || child.length < 2 || !child.every(isObject)) {
        throw new EventPatternError(`${childPath}: $or takes a list of at least two patterns`);
      }
      or.push(...child.map((alternative, i) => parseObject(alternative, `${childPath}[${i}]`)));
    } else if (Array.isArray(child)) {
      if (child.length === 0)
        throw new EventPatternError(`${childPath}: empty arrays are not allowed in a pattern`);
      fields.set(
        key,
        child.map((matcher, i) => parseMatcher(matcher, `${childPath}[${i}]`)),
      );
    } else if (isObject(child)) {
      fields.set(key, parseObject(child, childPath));
    } else {
      throw new EventPatternError(`${childPath}: match values must be in an array`);
    }
  }
  if (fields.size === 0 && or.length === 0)
    throw new EventPatternError(`${path || 'pattern'}: must not be empty`);
  return { fields, or };
}

/** Parses the JSON text PutRule receives; throws EventPatternError with a reason. */
export function parseEventPattern(text: string): EventPattern {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EventPatternError('the event pattern is not valid JSON');
  }
  if (!isObject(json)) throw new EventPatternError('the event pattern must be a JSON object');
  return parseObject(json, '');
}

function compare(value: number, comparison: Comparison, bound: number): boolean {
  switch (comparison) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '=':
      return value === bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
  }
}

/** One matcher against one scalar value that is present in the event. */
function matchValue(matcher: Matcher, value: unknown): boolean {
  switch (matcher.kind) {
    case 'exact':
      return value === matcher.value;
    case 'prefix':
      return typeof value === 'string' && value.startsWith(matcher.value);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(matcher.value);
    case 'equalsIgnoreCase':
      return typeof value === 'string' && value.toLowerCase() === matcher.value.toLowerCase();
    case 'anythingBut':
      return (typeof value === 'string' || typeof value === 'number') && !matcher.values.includes(value);
    case 'anythingButPrefix':
      return typeof value === 'string' && !value.startsWith(matcher.value);
    case 'numeric':
      return (
        typeof value === 'number' &&
        matcher.bounds.every(([comparison, bound]) => compare(value, comparison, bound))
      );
    case 'exists':
      return matcher.value;
  }
}

function matchLeaf(matchers: readonly Matcher[], present: boolean, value: unknown): boolean {
  return matchers.some((matcher) => {
    if (!present) return matcher.kind === 'exists' && !matcher.value;
    // An object is "present" for exists but never equal to a scalar matcher.
    if (matcher.kind === 'exists') return matcher.value;
    if (Array.isArray(value)) return value.some((element) => matchValue(matcher, element));
    return matchValue(matcher, value);
  });
}

/** Whether an event (the full envelope: source, detail-type, detail, …) matches a validated pattern. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  const object = isObject(event) ? event : {};
  for (const [key, expected] of pattern.fields) {
    const present = Object.hasOwn(object, key) && object[key] !== undefined;
    const value = object[key];
    if (Array.isArray(expected)) {
      if (!matchLeaf(expected as readonly Matcher[], present, value)) return false;
    } else {
      const nested = expected as EventPattern;
      const candidates = Array.isArray(value) ? value : [value];
      if (!candidates.some((candidate) => matchesPattern(nested, candidate))) return false;
    }
  }
  return pattern.or.length === 0 || pattern.or.some((alternative) => matchesPattern(alternative, object));
}
