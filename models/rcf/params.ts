/**
 * Random Cut Forest hyperparameters, named as SageMaker's built-in RCF names them where it has them.
 */
import { ConfigError } from '../../consumers/contract/errors.ts';

export interface ForestParams {
  /**
   * Number of values in one input record (one device's metrics at one time, e.g. 1 for a single metric).
   * @default 1
   */
  readonly feature_dim: number;
  /**
   * Consecutive records joined into one point, so the forest sees shapes in time rather than single values.
   * SageMaker's built-in RCF has no shingling (callers shingle); we use 8 for time series.
   * @default 1
   */
  readonly shingle_size: number;
  /**
   * Trees in the forest. More trees lower the variance of the score linearly in cost.
   * @default 100 (SageMaker's default)
   */
  readonly num_trees: number;
  /**
   * Points sampled per tree. Bounds memory and sets the scale of scores (CoDisp is at most this).
   * @default 256 (SageMaker's default)
   */
  readonly num_samples_per_tree: number;
  /**
   * Exponential time decay λ of the per-tree reservoir, per update; 0 gives a uniform sample of everything
   * seen. The effective memory is about 1/λ updates.
   * @default 1 / (10 · num_samples_per_tree), a memory of ten samples' worth of points (as AWS's
   * randomcutforest library defaults it)
   */
  readonly time_decay: number;
  /**
   * Seed of the forest's PRNG; the same seed and input give the same model.
   * @default 42
   */
  readonly seed: number;
}

export const MAX_DIMENSIONS = 1024;
export const MAX_TREES = 10_000;
export const MAX_SAMPLES = 1 << 16;
export const MAX_SEED = 0xffffffff;

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** Fills defaults and validates once; every forest is built from the result. */
export function resolveForestParams(input: Partial<ForestParams> = {}): ForestParams {
  const feature_dim = integerIn('feature_dim', input.feature_dim ?? 1, 1, MAX_DIMENSIONS);
  const shingle_size = integerIn('shingle_size', input.shingle_size ?? 1, 1, MAX_DIMENSIONS);
  if (feature_dim * shingle_size > MAX_DIMENSIONS) {
    throw new ConfigError(`feature_dim × shingle_size must be at most ${MAX_DIMENSIONS}`);
  }
  const num_trees = integerIn('num_trees', input.num_trees ?? 100, 1, MAX_TREES);
  const num_samples_per_tree = integerIn(
    'num_samples_per_tree',
    input.num_samples_per_tree ?? 256,
    1,
    MAX_SAMPLES,
  );
  const time_decay = input.time_decay ?? 1 / (10 * num_samples_per_tree);
  if (!Number.isFinite(time_decay) || time_decay < 0) {
    throw new ConfigError(`time_decay must be a finite number >= 0, got ${time_decay}`);
  }
  const seed = integerIn('seed', input.seed ?? 42, 0, MAX_SEED);
  return { feature_dim, shingle_size, num_trees, num_samples_per_tree, time_decay, seed };
}
