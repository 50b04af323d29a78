/**
 * A fixed split of the NAB files into two halves, so a change to the scorer is judged on files it was not
 * tuned on. Stratified by NAB folder (each half gets about half of every kind of series), and within a
 * folder ordered by a hash of the file name: the split depends on the names only, never on scores, so it
 * cannot drift toward whatever a change happens to fit.
 */
import { fnv1a } from '../../consumers/contract/hash.ts';

export type Half = 'a' | 'b';

export const HALVES: readonly Half[] = ['a', 'b'];

/** `realKnownCause/nyc_taxi.csv` → `realKnownCause`. */
export function categoryOf(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}

/**
 * Assigns every name to a half: within each category, names sorted by hash (name breaks ties) alternate
 * a, b, a, …, so the halves differ by at most one file per category.
 */
export function splitHalves(names: readonly string[]): Map<string, Half> {
  const byCategory = new Map<string, string[]>();
  for (const name of names) {
    const category = categoryOf(name);
    const members = byCategory.get(category) ?? [];
    members.push(name);
    byCategory.set(category, members);
  }
  const half = new Map<string, Half>();
  for (const members of byCategory.values()) {
    const ordered = members.slice().sort((x, y) => fnv1a(x) - fnv1a(y) || (x < y ? -1 : x > y ? 1 : 0));
    ordered.forEach((name, i) => {
      half.set(name, i % 2 === 0 ? 'a' : 'b');
    });
  }
  return half;
}

export function parseHalf(text: string | undefined): Half | undefined {
  if (text === undefined) return undefined;
  if (text === 'a' || text === 'b') return text;
  throw new Error(`--split must be 'a' or 'b', got '${text}'`);
}
