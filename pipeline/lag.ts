/**
 * Event lag samples (ms) and their percentiles. Kept whole rather than in a sketch: a local run holds at
 * most a few hundred thousand records, and exact percentiles are what a benchmark should report.
 */
export class LagRecorder {
  #samples = new Float64Array(1024);
  #size = 0;

  add(ms: number): void {
    if (this.#size === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#size++] = ms;
  }

  get count(): number {
    return this.#size;
  }

  /**
   * Percentiles of the samples recorded since `from` (a previous `count`, for one phase of a run), each
   * less `minus` (e.g. a phase's start, when the samples are instants).
   */
  percentiles(from = 0, minus = 0): LagPercentiles {
    const samples = this.#samples.subarray(from, this.#size);
    return lagPercentiles(minus === 0 ? samples : samples.map((sample) => sample - minus));
  }
}

export interface LagPercentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** Nearest-rank percentiles (the smallest sample with at least p% of samples at or below it). */
export function lagPercentiles(samples: Float64Array): LagPercentiles {
  if (samples.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const sorted = Float64Array.from(samples).sort();
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
  return {
    count: sorted.length,
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: sorted[sorted.length - 1] as number,
  };
}
