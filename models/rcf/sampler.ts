/**
 * A per-tree reservoir of sampled points with optional exponential time decay.
 *
 * Each arriving point gets the priority `log(-log U) - λ·t` (U uniform in (0,1), t the update count) and the
 * reservoir keeps the S smallest priorities. That is Efraimidis–Spirakis weighted reservoir sampling
 * (keys U^(1/w), keep the largest) with weight w = e^(λt), taken through two monotone logs so nothing
 * overflows. λ = 0 is the uniform reservoir that SageMaker's batch training uses; λ > 0 favours recent
 * points so the forest follows a drifting stream, with an effective memory of about 1/λ updates.
 *
 * The heap is a max-heap on priority, so the entry to evict is at index 0.
 *
 * Drawing a priority for every tree on every update costs two logarithms per tree per point, most of them
 * wasted on points the tree rejects. Once the reservoir is full we instead draw WHEN the tree next accepts a
 * point (skip sampling, as Vitter's and Li's reservoir algorithms do for the uniform case), then the accepted
 * point's priority conditioned on acceptance. The accepted points and their priorities have the same
 * distribution as testing every point; an update then costs one comparison per tree that skips it.
 */
import type { SeededRandom } from './random.ts';

export class TimeDecaySampler {
  readonly capacity: number;
  readonly priority: Float64Array;
  /** The tree leaf that holds each sampled point (one unit of that leaf's mass). */
  readonly leaf: Int32Array;
  size: number;

  constructor(capacity: number, restore?: { priority: Float64Array; leaf: Int32Array; size: number }) {
    this.capacity = capacity;
    this.priority = restore?.priority ?? new Float64Array(capacity);
    this.leaf = restore?.leaf ?? new Int32Array(capacity);
    this.size = restore?.size ?? 0;
  }

  /** Draws the priority a new point at time `t` would get. */
  static drawPriority(rng: SeededRandom, timeDecay: number, t: number): number {
    return Math.log(-Math.log(rng.nextOpen())) - timeDecay * t;
  }

  get isFull(): boolean {
    return this.size === this.capacity;
  }

  /**
   * With the worst priority M fixed, the point at time s is accepted with probability 1 − exp(−e^(M+λs)), so
   * no point in (t, t+n] is accepted with probability exp(−e^(M+λ(t+1)) · (e^(λn) − 1)/(e^λ − 1)). Inverting
   * that at an Exp(1) draw gives the gap n to the next acceptance. M + λ(t+1) stays O(1) however long the
   * stream runs (M itself falls like −λt), so nothing overflows. `growth` is e^λ − 1, which callers that
   * draw often compute once.
   */
  static drawGap(
    rng: SeededRandom,
    timeDecay: number,
    worst: number,
    t: number,
    growth = Math.expm1(timeDecay),
  ): number {
    const e = -Math.log(rng.nextOpen());
    const rate = Math.exp(worst + timeDecay * (t + 1));
    const n = timeDecay === 0 ? e / rate : Math.log1p((e * growth) / rate) / timeDecay;
    return Math.max(1, Math.ceil(n));
  }

  /** The priority of a point at time t drawn conditioned on beating `worst` (the reservoir accepted it). */
  static drawAcceptedPriority(rng: SeededRandom, timeDecay: number, worst: number, t: number): number {
    // −log U conditioned on being below b = e^(worst + λt) is a truncated Exp(1).
    const b = Math.exp(worst + timeDecay * t);
    const y = -Math.log1p(rng.nextOpen() * Math.expm1(-b));
    return Math.log(y) - timeDecay * t;
  }

  /** The priority of the point the full reservoir evicts next. */
  get worstPriority(): number {
    return this.priority[0]!;
  }

  /** The leaf of the entry a full reservoir evicts next. */
  get worstLeaf(): number {
    return this.leaf[0]!;
  }

  add(priority: number, leaf: number): void {
    let i = this.size++;
    const pr = this.priority;
    const lf = this.leaf;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (pr[up]! >= priority) break;
      pr[i] = pr[up]!;
      lf[i] = lf[up]!;
      i = up;
    }
    pr[i] = priority;
    lf[i] = leaf;
  }

  /** Replaces the worst entry (index 0) with a new one and restores the heap. */
  replaceWorst(priority: number, leaf: number): void {
    const pr = this.priority;
    const lf = this.leaf;
    const n = this.size;
    let i = 0;
    for (;;) {
      const a = 2 * i + 1;
      if (a >= n) break;
      const b = a + 1;
      // The larger child, as an index rather than a branch: which one it is is a coin flip.
      const child = b < n ? a + Number(pr[b]! > pr[a]!) : a;
      if (pr[child]! <= priority) break;
      pr[i] = pr[child]!;
      lf[i] = lf[child]!;
      i = child;
    }
    pr[i] = priority;
    lf[i] = leaf;
  }
}
