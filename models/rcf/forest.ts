/**
 * A Random Cut Forest: independent random cut trees, each over its own reservoir sample of the stream.
 * Points have `feature_dim × shingle_size` values (see shingle.ts to build them from a series).
 *
 * The score of a point is the mean over trees of its expected collusive displacement (tree.ts): a
 * number in [0, num_samples_per_tree], near 1 for points like the sample and growing towards the sample size
 * for points that would be cut off near the root. It is the paper's CoDisp, not SageMaker's scoring function
 * (which is a depth-based variant), so thresholds are set on our own scores (see calibrate.ts).
 */
import { ModelInputError } from '../errors.ts';
import { type ForestParams, resolveForestParams } from './params.ts';
import { SeededRandom } from './random.ts';
import { TimeDecaySampler } from './sampler.ts';
import { NONE, RandomCutTree, TreeArena } from './tree.ts';

/**
 * Points the tree-by-tree calls stage at once. At the default decay a tree changes for ~1 point in 10, so a
 * pass over 1024 points makes ~100 changes to each tree while its nodes are in cache. The staging area costs
 * 8 · (d + 1) · 1024 bytes per forest (72 kB for d = 8).
 */
export const STAGED_POINTS = 1024;

export interface ForestState {
  readonly trees: readonly RandomCutTree[];
  readonly samplers: readonly TimeDecaySampler[];
  readonly rngs: readonly SeededRandom[];
  readonly nextAcceptAt: Float64Array;
  readonly updates: number;
}

export class RandomCutForest {
  readonly params: ForestParams;
  /** Values per point: feature_dim × shingle_size. */
  readonly dimensions: number;
  readonly trees: readonly RandomCutTree[];
  readonly samplers: readonly TimeDecaySampler[];
  /** One PRNG per tree, so each tree's randomness does not depend on the others'. */
  readonly rngs: readonly SeededRandom[];
  /** Per tree, the update count at which its full reservoir next accepts a point (see TimeDecaySampler.drawGap). */
  readonly nextAcceptAt: Float64Array;
  /** Points given to `update` so far: the clock of the time decay. */
  updates: number;
  /** Where the trees live; its query point is where `load` puts each point, for all trees at once. */
  private readonly arena: TreeArena;
  /** e^λ − 1 for the time decay λ, used by every skip draw. */
  private readonly growth: number;
  /** Scratch for `update`: which trees change, and their new points' priorities. */
  private readonly changing: Int32Array;
  private readonly priorities: Float64Array;

  constructor(params: Partial<ForestParams> = {}, state?: ForestState) {
    this.params = resolveForestParams(params);
    const { num_trees, num_samples_per_tree, feature_dim, shingle_size, seed } = this.params;
    this.dimensions = feature_dim * shingle_size;
    this.growth = Math.expm1(this.params.time_decay);
    this.changing = new Int32Array(num_trees);
    this.priorities = new Float64Array(num_trees);
    this.arena = new TreeArena(this.dimensions, num_samples_per_tree, num_trees, STAGED_POINTS);
    // Each tree's PRNG state sits in the tree's header, where the kernel draws from it without copies.
    const ownRandom = (tree: RandomCutTree, from: SeededRandom): SeededRandom => {
      tree.rngState.set(from.state);
      return new SeededRandom(tree.rngState);
    };
    if (state !== undefined) {
      // Restored trees move into this forest's arena.
      this.trees = state.trees.map(
        (tree) => new RandomCutTree(this.dimensions, num_samples_per_tree, tree.state(), this.arena),
      );
      this.samplers = state.samplers;
      this.rngs = state.rngs.map((rng, i) => ownRandom(this.trees[i]!, rng));
      this.nextAcceptAt = state.nextAcceptAt;
      this.updates = state.updates;
      return;
    }
    const seeds = SeededRandom.fromSeed(seed);
    this.trees = Array.from(
      { length: num_trees },
      () => new RandomCutTree(this.dimensions, num_samples_per_tree, undefined, this.arena),
    );
    this.samplers = Array.from({ length: num_trees }, () => new TimeDecaySampler(num_samples_per_tree));
    this.rngs = this.trees.map((tree) => ownRandom(tree, SeededRandom.fromSeed(seeds.nextUint32())));
    this.nextAcceptAt = new Float64Array(num_trees);
    this.updates = 0;
  }

  /** Offers a point to every tree's reservoir; trees that sample it insert it (evicting their lowest-weighted point). */
  update(point: ArrayLike<number>): void {
    this.load(point);
    const t = this.updates++;
    const lambda = this.params.time_decay;
    const next = this.nextAcceptAt;
    const trees = this.trees;
    const batch = this.arena.batch;
    const changing = this.changing;
    const priorities = this.priorities;
    // Each tree draws, in this order, its new point's priority, the insert's cuts, then its next gap; the
    // trees' draws are independent, so the trees can take turns at each step.
    let count = 0;
    for (let i = 0; i < trees.length; i++) {
      if (t < next[i]!) continue;
      const sampler = this.samplers[i]!;
      const rng = this.rngs[i]!;
      changing[count] = i;
      batch[4 * count] = trees[i]!.at;
      if (sampler.isFull) {
        priorities[count] = TimeDecaySampler.drawAcceptedPriority(rng, lambda, sampler.worstPriority, t);
        batch[4 * count + 1] = sampler.worstLeaf;
      } else {
        // Until the reservoir fills every point is taken; only its priority is random.
        priorities[count] = TimeDecaySampler.drawPriority(rng, lambda, t);
        batch[4 * count + 1] = NONE;
      }
      count++;
    }
    if (count === 0) return;
    // The samplers hold leaves the kernel gave and a tree only grows while its reservoir does, which is
    // what changeBatch needs of its callers.
    this.arena.changeBatch(count);
    for (let k = 0; k < count; k++) {
      const i = changing[k]!;
      const sampler = this.samplers[i]!;
      const leaf = batch[4 * k + 2]!;
      trees[i]!.insertions++;
      if (batch[4 * k + 1] === NONE) sampler.add(priorities[k]!, leaf);
      else sampler.replaceWorst(priorities[k]!, leaf);
      next[i] = sampler.isFull
        ? t + TimeDecaySampler.drawGap(this.rngs[i]!, lambda, sampler.worstPriority, t, this.growth)
        : t + 1;
    }
  }

  /**
   * `update` for each point in turn, giving the same forest bit for bit, but made tree by tree: each tree
   * takes all its changes from a run of points (up to STAGED_POINTS) before the next tree starts.
   *
   * The trees are independent (each has its own reservoir and PRNG), so only the order within a tree
   * matters. One point at a time, an update touches ~10 trees of a forest that is several MB, far beyond the
   * core's L2, so nearly every node it reads is a miss; tree by tree, one tree's ~60 kB stays in cache for
   * its ~100 changes. That is why training, batch scoring and the serving path use these calls.
   * All points are checked before the forest changes.
   */
  updateAll(points: readonly ArrayLike<number>[]): void {
    this.treeByTree(points, { score: false, update: true });
  }

  /** `scoreThenUpdate` for each point in turn, tree by tree (see `updateAll`): the same scores and forest. */
  scoreThenUpdateAll(points: readonly ArrayLike<number>[]): Float64Array {
    return this.treeByTree(points, { score: true, update: true });
  }

  /** `score` for each point against the forest as it is, tree by tree (see `updateAll`): the same scores. */
  scoreAll(points: readonly ArrayLike<number>[]): Float64Array {
    return this.treeByTree(points, { score: true, update: false });
  }

  private treeByTree(
    points: readonly ArrayLike<number>[],
    mode: { readonly score: boolean; readonly update: boolean },
  ): Float64Array {
    for (let k = 0; k < points.length; k++) this.check(points[k]!, k);
    const scores = new Float64Array(mode.score ? points.length : 0);
    const arena = this.arena;
    const sums = arena.stagedSums;
    const d = this.dimensions;
    for (let from = 0; from < points.length; from += STAGED_POINTS) {
      const count = Math.min(STAGED_POINTS, points.length - from);
      for (let k = 0; k < count; k++) arena.staged.set(points[from + k]!, k * d);
      if (mode.score) sums.fill(0, 0, count);
      if (mode.update) this.updateStaged(count, mode.score);
      else for (const tree of this.trees) arena.addCoDispOfStaged(tree.at, 0, count);
      // Each sum added the trees' shares in tree order, as score's does, so the means are the same doubles.
      if (mode.score) for (let k = 0; k < count; k++) scores[from + k] = sums[k]! / this.trees.length;
    }
    return scores;
  }

  /**
   * Offers the first `count` staged points, in order, to each tree in turn; with `score`, each point's
   * share of the tree's CoDisp is added before the tree learns that point. Per tree the draws are those of
   * `update`, in its order: the accepted point's priority, the insert's cuts, the gap to the next acceptance.
   */
  private updateStaged(count: number, score: boolean): void {
    const arena = this.arena;
    const lambda = this.params.time_decay;
    const start = this.updates;
    const end = start + count;
    for (let i = 0; i < this.trees.length; i++) {
      const tree = this.trees[i]!;
      const sampler = this.samplers[i]!;
      const rng = this.rngs[i]!;
      let scoredTo = start;
      let accept = Math.max(this.nextAcceptAt[i]!, start);
      for (;;) {
        if (score) {
          // Scored up to and including the point the tree is about to learn: scores never see their own point.
          const stop = Math.min(accept + 1, end);
          if (stop > scoredTo) arena.addCoDispOfStaged(tree.at, scoredTo - start, stop - scoredTo);
          scoredTo = stop;
        }
        if (accept >= end) break;
        const wasFull = sampler.isFull;
        const priority = wasFull
          ? TimeDecaySampler.drawAcceptedPriority(rng, lambda, sampler.worstPriority, accept)
          : TimeDecaySampler.drawPriority(rng, lambda, accept);
        const leaf = arena.changeToStaged(tree.at, wasFull ? sampler.worstLeaf : NONE, accept - start);
        tree.insertions++;
        if (wasFull) sampler.replaceWorst(priority, leaf);
        else sampler.add(priority, leaf);
        accept = sampler.isFull
          ? accept + TimeDecaySampler.drawGap(rng, lambda, sampler.worstPriority, accept, this.growth)
          : accept + 1;
      }
      this.nextAcceptAt[i] = accept;
    }
    this.updates = end;
  }

  /** Mean expected CoDisp over the trees; 0 before the forest has seen any point. Does not change the forest. */
  score(point: ArrayLike<number>): number {
    // The arena holds exactly this forest's trees, in order; load put the point where they read it.
    this.load(point);
    return this.arena.sumCoDisp() / this.trees.length;
  }

  /** Scores a point against the forest as it was, then learns it: the streaming order that never scores a point against itself. */
  scoreThenUpdate(point: ArrayLike<number>): number {
    const s = this.score(point);
    this.update(point);
    return s;
  }

  /** Points currently sampled by the smallest tree (the forest is warm once this reaches num_samples_per_tree). */
  get sampledPoints(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.samplers) if (s.size < min) min = s.size;
    return min === Number.POSITIVE_INFINITY ? 0 : min;
  }

  private load(point: ArrayLike<number>): void {
    this.check(point);
    this.arena.query.set(point);
  }

  /** `index` is the point's place in a batch call (from 0), so the error says which point it was. */
  private check(point: ArrayLike<number>, index = -1): void {
    const where = (): string => (index >= 0 ? `point ${index + 1}: ` : '');
    if (point.length !== this.dimensions) {
      throw new ModelInputError(
        `${where()}expected ${this.dimensions} values per point, got ${point.length}`,
      );
    }
    for (let j = 0; j < point.length; j++) {
      if (!Number.isFinite(point[j]))
        throw new ModelInputError(`${where()}value ${j} is not a finite number`);
    }
  }
}
