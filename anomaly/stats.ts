/**
 * Streaming statistics over words of a Float64Array, so per-metric state stays one flat array with no
 * per-slot objects. Every function is pure apart from the words it is given.
 */

/**
 * Folds `x` into a mean/variance pair. The weight is max(1/count, alpha): the first 1/alpha readings give
 * the exact running (population) mean and variance (Welford's recurrence), after which it becomes an
 * exponentially weighted average that forgets. `count` includes `x`.
 */
export function foldMeanVariance(
  state: Float64Array,
  meanAt: number,
  varianceAt: number,
  x: number,
  count: number,
  alpha: number,
): void {
  const weight = count <= 1 ? 1 : Math.max(1 / count, alpha);
  const mean = state[meanAt]!;
  const diff = x - mean;
  const step = weight * diff;
  state[meanAt] = mean + step;
  // West (1979): the weighted form of Welford's update; exact for weight 1/count.
  state[varianceAt] = (1 - weight) * (state[varianceAt]! + diff * step);
}

/**
 * Complementary error function, Chebyshev fit with fractional error below 1.2e-7 everywhere
 * (Numerical Recipes, erfcc). Enough for tail probabilities used as scores.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Upper tail probability of a standard normal: P(Z > z). */
export function normalTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}
