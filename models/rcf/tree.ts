/**
 * One robust random cut tree (Guha, Mishra, Roy, Schrijvers: "Robust Random Cut Forest Based Anomaly
 * Detection on Streams", ICML 2016), stored in flat typed arrays.
 *
 * Layout: a pool of `capacity` nodes addressed by index. A node is a leaf when `cutDim < 0`; a leaf's box is
 * its point (lo == hi) and its `mass` counts duplicates of that point. Every internal node keeps the bounding
 * box of the points below it, maintained incrementally on insert and delete, so a cut can be drawn in O(d)
 * per level. Freed nodes go on a stack and are reused, so a long-running stream allocates nothing.
 *
 * A tree holding S sampled points needs at most S leaves and S - 1 internal nodes.
 */
import type { SeededRandom } from './random.ts';

const NONE = -1;

export interface TreeArrays {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly parent: Int32Array;
  readonly cutDim: Int32Array;
  readonly cutValue: Float64Array;
  readonly mass: Int32Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly rangeSum: Float64Array;
  readonly free: Int32Array;
}

export class RandomCutTree {
  readonly dimensions: number;
  readonly capacity: number;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly parent: Int32Array;
  readonly cutDim: Int32Array;
  readonly cutValue: Float64Array;
  readonly mass: Int32Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /**
   * Σ (hi − lo) over the node's box, recomputed whenever the box changes: the denominator of every cut
   * probability, so a traversal needs one pass over the dimensions per node instead of two.
   */
  readonly rangeSum: Float64Array;
  /** Stack of free node indices; `free[0 .. freeCount)` are free. */
  readonly free: Int32Array;
  freeCount: number;
  root: number;
  /** Inserts since construction or restore (a diagnostic; not part of snapshots). */
  insertions = 0;

  constructor(
    dimensions: number,
    maxPoints: number,
    restore?: { arrays: TreeArrays; freeCount: number; root: number },
  ) {
    this.dimensions = dimensions;
    this.capacity = 2 * maxPoints;
    if (restore !== undefined) {
      const a = restore.arrays;
      this.left = a.left;
      this.right = a.right;
      this.parent = a.parent;
      this.cutDim = a.cutDim;
      this.cutValue = a.cutValue;
      this.mass = a.mass;
      this.lo = a.lo;
      this.hi = a.hi;
      this.rangeSum = a.rangeSum;
      this.free = a.free;
      this.freeCount = restore.freeCount;
      this.root = restore.root;
      return;
    }
    const n = this.capacity;
    this.left = new Int32Array(n).fill(NONE);
    this.right = new Int32Array(n).fill(NONE);
    this.parent = new Int32Array(n).fill(NONE);
    this.cutDim = new Int32Array(n).fill(NONE);
    this.cutValue = new Float64Array(n);
    this.mass = new Int32Array(n);
    this.lo = new Float64Array(n * dimensions);
    this.hi = new Float64Array(n * dimensions);
    this.rangeSum = new Float64Array(n);
    this.free = new Int32Array(n);
    // Lowest indices on top of the stack, so a fresh tree fills the pool from the front.
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeCount = n;
    this.root = NONE;
  }

  /** Number of points in the tree, duplicates included. */
  get size(): number {
    return this.root === NONE ? 0 : this.mass[this.root]!;
  }

  private allocate(): number {
    if (this.freeCount === 0) throw new RangeError('random cut tree node pool exhausted');
    return this.free[--this.freeCount]!;
  }

  private release(node: number): void {
    this.left[node] = NONE;
    this.right[node] = NONE;
    this.parent[node] = NONE;
    this.cutDim[node] = NONE;
    this.mass[node] = 0;
    this.free[this.freeCount++] = node;
  }

  private newLeaf(point: Float64Array): number {
    const leaf = this.allocate();
    const d = this.dimensions;
    this.lo.set(point, leaf * d);
    this.hi.set(point, leaf * d);
    this.rangeSum[leaf] = 0;
    this.cutDim[leaf] = NONE;
    this.mass[leaf] = 1;
    return leaf;
  }

  /**
   * Inserts a point and returns its leaf (an existing leaf when the point is a duplicate).
   *
   * The paper's insertion (Section 3, "Insert"): at node v with box B, draw a cut on B ∪ {p}, its dimension
   * chosen with probability proportional to that dimension's range and its value uniform in it. If the cut
   * separates p from B, p becomes a new leaf beside v; otherwise follow v's own cut. The result is
   * distributed as a tree built from scratch on the sample plus p.
   *
   * A uniform position on the union's total range falls in the gaps between p and B (so separates) with
   * probability outside / (rangeSum + outside), and is then uniform over those gaps. So one draw decides
   * whether to split, and only a split needs the cut itself; when p lies inside B nothing is drawn at all.
   */
  insert(point: Float64Array, rng: SeededRandom): number {
    this.insertions++;
    if (this.root === NONE) {
      const leaf = this.newLeaf(point);
      this.parent[leaf] = NONE;
      this.root = leaf;
      return leaf;
    }
    const d = this.dimensions;
    const lo = this.lo;
    const hi = this.hi;
    let node = this.root;
    for (;;) {
      const base = node * d;
      let outside = 0;
      for (let j = 0; j < d; j++) {
        const x = point[j]!;
        const l = lo[base + j]!;
        if (x < l) outside += l - x;
        else {
          const h = hi[base + j]!;
          if (x > h) outside += x - h;
        }
      }
      const isLeaf = this.cutDim[node]! < 0;
      if (outside > 0) {
        const r = rng.next() * (this.rangeSum[node]! + outside);
        // A leaf's box is a point (rangeSum 0): any cut between it and p separates them.
        if (r < outside || isLeaf) return this.splitAbove(node, point, r < outside ? r : 0, base);
        let sum = 0;
        for (let j = 0; j < d; j++) {
          const x = point[j]!;
          if (x < lo[base + j]!) lo[base + j] = x;
          else if (x > hi[base + j]!) hi[base + j] = x;
          sum += hi[base + j]! - lo[base + j]!;
        }
        this.rangeSum[node] = sum;
      } else if (isLeaf) {
        // p equals this leaf's point: count the duplicate.
        this.mass[node]!++;
        return node;
      }
      this.mass[node]!++;
      node = point[this.cutDim[node]!]! <= this.cutValue[node]! ? this.left[node]! : this.right[node]!;
    }
  }

  /**
   * Puts a new branch above `node` whose cut separates p from node's box: the cut lies `offset` into the
   * gaps between them, taken dimension by dimension. Points go left when value <= cut.
   */
  private splitAbove(node: number, point: Float64Array, offset: number, nodeBase: number): number {
    const d = this.dimensions;
    const lo = this.lo;
    const hi = this.hi;
    let dim = -1;
    let cut = 0;
    let r = offset;
    for (let j = 0; j < d; j++) {
      const x = point[j]!;
      const l = lo[nodeBase + j]!;
      const h = hi[nodeBase + j]!;
      const gap = x < l ? l - x : x > h ? x - h : 0;
      if (gap <= 0) continue;
      dim = j;
      if (r < gap) {
        cut = x < l ? x + r : h + r;
        break;
      }
      r -= gap;
    }
    const x = point[dim]!;
    const l = lo[nodeBase + dim]!;
    const h = hi[nodeBase + dim]!;
    // Rounding can push the cut onto the far edge of the gap (or leave r past the last gap); any cut in
    // [x, l) or [h, x) is a valid separating cut, so fall back to the near edge.
    if (x < l) {
      if (!(cut >= x && cut < l)) cut = x;
    } else if (!(cut >= h && cut < x)) cut = h;
    return this.attachSplit(node, point, dim, cut, nodeBase);
  }

  private attachSplit(node: number, point: Float64Array, dim: number, cut: number, nodeBase: number): number {
    const d = this.dimensions;
    const leaf = this.newLeaf(point);
    const branch = this.allocate();
    const branchBase = branch * d;
    const lo = this.lo;
    const hi = this.hi;
    let sum = 0;
    for (let j = 0; j < d; j++) {
      const x = point[j]!;
      const l = Math.min(x, lo[nodeBase + j]!);
      const h = Math.max(x, hi[nodeBase + j]!);
      lo[branchBase + j] = l;
      hi[branchBase + j] = h;
      sum += h - l;
    }
    this.rangeSum[branch] = sum;
    this.cutDim[branch] = dim;
    this.cutValue[branch] = cut;
    this.mass[branch] = this.mass[node]! + 1;
    if (point[dim]! <= cut) {
      this.left[branch] = leaf;
      this.right[branch] = node;
    } else {
      this.left[branch] = node;
      this.right[branch] = leaf;
    }
    const above = this.parent[node]!;
    this.parent[branch] = above;
    if (above === NONE) this.root = branch;
    else if (this.left[above] === node) this.left[above] = branch;
    else this.right[above] = branch;
    this.parent[node] = branch;
    this.parent[leaf] = branch;
    return leaf;
  }

  /**
   * Removes one copy of a leaf's point. The leaf's sibling takes its parent's place; boxes above are
   * recomputed from their children only while they actually shrink (a deleted interior point changes no box).
   */
  delete(leaf: number): void {
    if (this.mass[leaf]! > 1) {
      for (let node = leaf; node !== NONE; node = this.parent[node]!) this.mass[node]!--;
      return;
    }
    const above = this.parent[leaf]!;
    if (above === NONE) {
      this.release(leaf);
      this.root = NONE;
      return;
    }
    const sibling = this.left[above] === leaf ? this.right[above]! : this.left[above]!;
    const grand = this.parent[above]!;
    this.parent[sibling] = grand;
    if (grand === NONE) this.root = sibling;
    else if (this.left[grand] === above) this.left[grand] = sibling;
    else this.right[grand] = sibling;
    this.release(leaf);
    this.release(above);
    let shrinking = true;
    for (let node = grand; node !== NONE; node = this.parent[node]!) {
      this.mass[node]!--;
      if (shrinking) shrinking = this.refitBox(node);
    }
  }

  /** Sets a node's box to the union of its children's; returns whether it changed. */
  private refitBox(node: number): boolean {
    const d = this.dimensions;
    const lo = this.lo;
    const hi = this.hi;
    const base = node * d;
    const a = this.left[node]! * d;
    const b = this.right[node]! * d;
    let changed = false;
    let sum = 0;
    for (let j = 0; j < d; j++) {
      const l = Math.min(lo[a + j]!, lo[b + j]!);
      const h = Math.max(hi[a + j]!, hi[b + j]!);
      if (l !== lo[base + j] || h !== hi[base + j]) {
        lo[base + j] = l;
        hi[base + j] = h;
        changed = true;
      }
      sum += h - l;
    }
    if (changed) this.rangeSum[node] = sum;
    return changed;
  }

  /**
   * Expected collusive displacement (CoDisp) of a point that is NOT in the tree, over the random cut its
   * insertion would draw. Computed without modifying the tree, in one root-to-leaf pass.
   *
   * The paper scores a point x by CoDisp(x) = max over the subtrees C on x's path of |sibling(C)| / |C|: how
   * many points would move up if x and its colluders C were removed. If inserting x would split it off
   * above node v (probability p_v given the path to v was not split earlier), the new tree's path gives
   * ratios |v| / 1 for x itself, then |sibling(a)| / (|a| + 1) for v and each ancestor a below the root
   * (each of those subtrees now also holds x). So
   *   CoDisp_v = max(|v|, M_v),  M_v = max over path nodes a, root excluded, down to v of |sib(a)| / (|a|+1),
   * and p_v = (range of box(v) ∪ x − range of box(v)) / range of box(v) ∪ x. A duplicate of a leaf joins the
   * leaf and scores M at the leaf. The score is Σ_v P(split at v) · CoDisp_v.
   */
  expectedCoDisp(point: Float64Array): number {
    if (this.root === NONE) return 0;
    const d = this.dimensions;
    const lo = this.lo;
    const hi = this.hi;
    const mass = this.mass;
    let node = this.root;
    let reach = 1; // probability that the insertion has not split x off above `node`
    let colluderMax = 0; // M over the path so far
    let expected = 0;
    for (;;) {
      const base = node * d;
      let outside = 0;
      for (let j = 0; j < d; j++) {
        const x = point[j]!;
        const l = lo[base + j]!;
        if (x < l) outside += l - x;
        else {
          const h = hi[base + j]!;
          if (x > h) outside += x - h;
        }
      }
      const nodeMass = mass[node]!;
      const above = this.parent[node]!;
      if (above !== NONE) {
        const sib = this.left[above] === node ? this.right[above]! : this.left[above]!;
        const ratio = mass[sib]! / (nodeMass + 1);
        if (ratio > colluderMax) colluderMax = ratio;
      }
      const isLeaf = this.cutDim[node]! < 0;
      if (outside > 0) {
        const pSplit = isLeaf ? 1 : outside / (this.rangeSum[node]! + outside);
        expected += reach * pSplit * Math.max(nodeMass, colluderMax);
        reach *= 1 - pSplit;
        if (isLeaf) return expected;
      } else if (isLeaf) {
        return expected + reach * colluderMax;
      }
      node = point[this.cutDim[node]!]! <= this.cutValue[node]! ? this.left[node]! : this.right[node]!;
    }
  }

  arrays(): TreeArrays {
    return {
      left: this.left,
      right: this.right,
      parent: this.parent,
      cutDim: this.cutDim,
      cutValue: this.cutValue,
      mass: this.mass,
      lo: this.lo,
      hi: this.hi,
      rangeSum: this.rangeSum,
      free: this.free,
    };
  }
}
