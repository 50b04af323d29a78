/**
 * What the NAB evaluation runs: a detector that scores a whole series causally (row i may use rows ≤ i
 * only — the harness trusts this, as the stream enforces it). Add a detector by adding it to the list in
 * main.ts.
 */
export interface SeriesDetector {
  readonly name: string;
  score(timestampsMs: readonly number[], values: readonly number[]): number[];
}
