/** Deterministic synthetic series for the anomaly tests (seeded; no Math.random). */

export const FIVE_MINUTES = 300_000;
export const START_MS = Date.UTC(2026, 0, 5);

/** Standard normal draws from a seeded LCG through Box–Muller. */
export function gaussian(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function noise(length: number, mean: number, sd: number, seed = 1): number[] {
  const draw = gaussian(seed);
  return Array.from({ length }, () => mean + sd * draw());
}

export function timestamps(length: number, stepMs = FIVE_MINUTES): number[] {
  return Array.from({ length }, (_, i) => START_MS + i * stepMs);
}
