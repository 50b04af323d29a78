/**
 * One robust random cut tree (Guha, Mishra, Roy, Schrijvers: "Robust Random Cut Forest Based Anomaly
 * Detection on Streams", ICML 2016), stored in flat typed arrays.
 *
 * Layout: a pool of `capacity` nodes addressed by index. A node is a leaf when `cutDim < 0`; a leaf's box is
 * its point (lo == hi) and its `mass` counts duplicates of that point. Every internal node keeps the bounding
 * box of the points below it, maintained incrementally on insert and delete, so a cut can be drawn in O(d)
 * per level. Freed nodes go on a stack and are reused, so a long-running stream allocates nothing.
 *
 * Each node's numbers sit together, so a step down the tree touches a few adjacent cache lines instead of
 * one line in each of ten arrays: a forest of 100 × 256-point trees is ~9 MB, far beyond L2, and traversals
 * are bound by memory latency. `record` holds per node [cutValue, rangeSum, mass, lo0, hi0, lo1, hi1, …]
 * (min and max interleaved per dimension) and `links` holds [left, right, parent, cutDim]. The one-array-
 * per-field view (`arrays()`, and the `left` … `rangeSum` getters) is built on demand for snapshots and
 * inspection; its contents, freed nodes included, are exactly what the per-field layout would hold.
 *
 * A tree holding S sampled points needs at most S leaves and S - 1 internal nodes.
 */
import type { SeededRandom } from './random.ts';

const NONE = -1;

/**
 * Σ over dimensions of how far the point lies outside the box at `box` (lo, hi interleaved): the length of
 * the cut range that would separate it. Branch-free, since which side each value falls on is unpredictable:
 * g + |g| is 2·max(g, 0) exactly (Math.max compiles to branches). Doubling is exact in binary floating
 * point, so halving the doubled sum gives bit for bit the sum of the positive gaps; it differs only where
 * that sum exceeds half the largest double, where box ranges overflow anyway.
 */
function gapSum(point: Float64Array, record: Float64Array, box: number, d: number): number {
  let twice = 0;
  for (let j = 0, k = box; j < d; j++, k += 2) {
    const x = point[j]!;
    const below = record[k]! - x;
    const above = x - record[k + 1]!;
    twice += below + Math.abs(below) + (above + Math.abs(above));
  }
  return twice * 0.5;
}

// Offsets in a node's `links` entry (stride LINKS).
const LEFT = 0;
const RIGHT = 1;
const PARENT = 2;
const CUT_DIM = 3;
const LINKS = 4;
// Offsets in a node's `record` entry (stride 3 + 2d); the box starts at BOX with lo, hi per dimension.
const CUT_VALUE = 0;
const RANGE_SUM = 1;
const MASS = 2;
const BOX = 3;

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
  /** Doubles per node in `record`: cutValue, rangeSum, mass, then lo/hi per dimension. */
  readonly stride: number;
  /**
   * Per node [cutValue, rangeSum, mass, lo0, hi0, …]. rangeSum is Σ (hi − lo) over the node's box, recomputed
   * whenever the box changes: the denominator of every cut probability, so a traversal needs one pass over
   * the dimensions per node instead of two. Masses are small integers, exact in a double.
   */
  readonly record: Float64Array;
  /** Per node [left, right, parent, cutDim]; NONE (−1) where absent, cutDim < 0 marks a leaf. */
  readonly links: Int32Array;
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
    this.stride = BOX + 2 * dimensions;
    const n = this.capacity;
    const d = dimensions;
    const stride = this.stride;
    this.record = new Float64Array(n * stride);
    this.links = new Int32Array(n * LINKS);
    if (restore !== undefined) {
      const a = restore.arrays;
      for (let node = 0; node < n; node++) {
        const l = node * LINKS;
        this.links[l + LEFT] = a.left[node]!;
        this.links[l + RIGHT] = a.right[node]!;
        this.links[l + PARENT] = a.parent[node]!;
        this.links[l + CUT_DIM] = a.cutDim[node]!;
        const r = node * stride;
        this.record[r + CUT_VALUE] = a.cutValue[node]!;
        this.record[r + RANGE_SUM] = a.rangeSum[node]!;
        this.record[r + MASS] = a.mass[node]!;
        for (let j = 0; j < d; j++) {
          this.record[r + BOX + 2 * j] = a.lo[node * d + j]!;
          this.record[r + BOX + 2 * j + 1] = a.hi[node * d + j]!;
        }
      }
      this.free = a.free;
      this.freeCount = restore.freeCount;
      this.root = restore.root;
      return;
    }
    this.links.fill(NONE);
    this.free = new Int32Array(n);
    // Lowest indices on top of the stack, so a fresh tree fills the pool from the front.
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeCount = n;
    this.root = NONE;
  }

  /** Number of points in the tree, duplicates included. */
  get size(): number {
    return this.root === NONE ? 0 : this.record[this.root * this.stride + MASS]!;
  }

  private allocate(): number {
    if (this.freeCount === 0) throw new RangeError('random cut tree node pool exhausted');
    return this.free[--this.freeCount]!;
  }

  private release(node: number): void {
    const l = node * LINKS;
    this.links[l + LEFT] = NONE;
    this.links[l + RIGHT] = NONE;
    this.links[l + PARENT] = NONE;
    this.links[l + CUT_DIM] = NONE;
    this.record[node * this.stride + MASS] = 0;
    this.free[this.freeCount++] = node;
  }

  private newLeaf(point: Float64Array): number {
    const leaf = this.allocate();
    const d = this.dimensions;
    const record = this.record;
    const r = leaf * this.stride;
    for (let j = 0, k = r + BOX; j < d; j++, k += 2) {
      const x = point[j]!;
      record[k] = x;
      record[k + 1] = x;
    }
    record[r + RANGE_SUM] = 0;
    record[r + MASS] = 1;
    this.links[leaf * LINKS + CUT_DIM] = NONE;
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
      this.links[leaf * LINKS + PARENT] = NONE;
      this.root = leaf;
      return leaf;
    }
    const d = this.dimensions;
    const stride = this.stride;
    const record = this.record;
    const links = this.links;
    let node = this.root;
    for (;;) {
      const r = node * stride;
      const outside = gapSum(point, record, r + BOX, d);
      const ln = node * LINKS;
      const cutDim = links[ln + CUT_DIM]!;
      if (outside > 0) {
        const u = rng.next() * (record[r + RANGE_SUM]! + outside);
        // A leaf's box is a point (rangeSum 0): any cut between it and p separates them.
        if (u < outside || cutDim < 0) return this.splitAbove(node, point, u < outside ? u : 0);
        let sum = 0;
        for (let j = 0, k = r + BOX; j < d; j++, k += 2) {
          const x = point[j]!;
          if (x < record[k]!) record[k] = x;
          else if (x > record[k + 1]!) record[k + 1] = x;
          sum += record[k + 1]! - record[k]!;
        }
        record[r + RANGE_SUM] = sum;
      } else if (cutDim < 0) {
        // p equals this leaf's point: count the duplicate.
        record[r + MASS]!++;
        return node;
      }
      record[r + MASS]!++;
      node = point[cutDim]! <= record[r + CUT_VALUE]! ? links[ln + LEFT]! : links[ln + RIGHT]!;
    }
  }

  /**
   * Puts a new branch above `node` whose cut separates p from node's box: the cut lies `offset` into the
   * gaps between them, taken dimension by dimension. Points go left when value <= cut.
   */
  private splitAbove(node: number, point: Float64Array, offset: number): number {
    const d = this.dimensions;
    const record = this.record;
    const r = node * this.stride;
    let dim = -1;
    let cut = 0;
    let rest = offset;
    for (let j = 0, k = r + BOX; j < d; j++, k += 2) {
      const x = point[j]!;
      const l = record[k]!;
      const h = record[k + 1]!;
      const gap = x < l ? l - x : x > h ? x - h : 0;
      if (gap <= 0) continue;
      dim = j;
      if (rest < gap) {
        cut = x < l ? x + rest : h + rest;
        break;
      }
      rest -= gap;
    }
    const x = point[dim]!;
    const l = record[r + BOX + 2 * dim]!;
    const h = record[r + BOX + 2 * dim + 1]!;
    // Rounding can push the cut onto the far edge of the gap (or leave rest past the last gap); any cut in
    // [x, l) or [h, x) is a valid separating cut, so fall back to the near edge.
    if (x < l) {
      if (!(cut >= x && cut < l)) cut = x;
    } else if (!(cut >= h && cut < x)) cut = h;
    return this.attachSplit(node, point, dim, cut);
  }

  private attachSplit(node: number, point: Float64Array, dim: number, cut: number): number {
    const d = this.dimensions;
    const stride = this.stride;
    const record = this.record;
    const links = this.links;
    const leaf = this.newLeaf(point);
    const branch = this.allocate();
    const r = node * stride;
    const b = branch * stride;
    let sum = 0;
    for (let j = 0, k = BOX; j < d; j++, k += 2) {
      const x = point[j]!;
      const l = Math.min(x, record[r + k]!);
      const h = Math.max(x, record[r + k + 1]!);
      record[b + k] = l;
      record[b + k + 1] = h;
      sum += h - l;
    }
    record[b + RANGE_SUM] = sum;
    record[b + CUT_VALUE] = cut;
    record[b + MASS] = record[r + MASS]! + 1;
    const bl = branch * LINKS;
    links[bl + CUT_DIM] = dim;
    if (point[dim]! <= cut) {
      links[bl + LEFT] = leaf;
      links[bl + RIGHT] = node;
    } else {
      links[bl + LEFT] = node;
      links[bl + RIGHT] = leaf;
    }
    const above = links[node * LINKS + PARENT]!;
    links[bl + PARENT] = above;
    if (above === NONE) this.root = branch;
    else if (links[above * LINKS + LEFT] === node) links[above * LINKS + LEFT] = branch;
    else links[above * LINKS + RIGHT] = branch;
    links[node * LINKS + PARENT] = branch;
    links[leaf * LINKS + PARENT] = branch;
    return leaf;
  }

  /**
   * Removes one copy of a leaf's point. The leaf's sibling takes its parent's place; boxes above are
   * recomputed from their children only while they actually shrink (a deleted interior point changes no box).
   */
  delete(leaf: number): void {
    const stride = this.stride;
    const record = this.record;
    const links = this.links;
    if (record[leaf * stride + MASS]! > 1) {
      for (let node = leaf; node !== NONE; node = links[node * LINKS + PARENT]!)
        record[node * stride + MASS]!--;
      return;
    }
    const above = links[leaf * LINKS + PARENT]!;
    if (above === NONE) {
      this.release(leaf);
      this.root = NONE;
      return;
    }
    const al = above * LINKS;
    const sibling = links[al + LEFT] === leaf ? links[al + RIGHT]! : links[al + LEFT]!;
    const grand = links[al + PARENT]!;
    links[sibling * LINKS + PARENT] = grand;
    if (grand === NONE) this.root = sibling;
    else if (links[grand * LINKS + LEFT] === above) links[grand * LINKS + LEFT] = sibling;
    else links[grand * LINKS + RIGHT] = sibling;
    this.release(leaf);
    this.release(above);
    // Boxes shrink only while they were bounded by the deleted point; above that, only masses change. The
    // freed leaf's record still holds the point.
    const point = leaf * stride + BOX;
    let node = grand;
    while (node !== NONE && this.shrinkBox(node, point)) {
      record[node * stride + MASS]!--;
      node = links[node * LINKS + PARENT]!;
    }
    for (; node !== NONE; node = links[node * LINKS + PARENT]!) record[node * stride + MASS]!--;
  }

  /**
   * Refits a node's box after the point whose box is at record offset `point` left its subtree; returns
   * whether the box changed. Only a side the point lay on can move (any other side is attained by a point
   * still there), so only those sides read the children, whose boxes are already refitted.
   */
  private shrinkBox(node: number, point: number): boolean {
    const d2 = 2 * this.dimensions;
    const stride = this.stride;
    const record = this.record;
    const ln = node * LINKS;
    const base = node * stride + BOX;
    const a = this.links[ln + LEFT]! * stride + BOX;
    const b = this.links[ln + RIGHT]! * stride + BOX;
    let changed = false;
    for (let k = 0; k < d2; k += 2) {
      const x = record[point + k]!;
      if (x === record[base + k]) {
        const l = Math.min(record[a + k]!, record[b + k]!);
        if (l !== x) {
          record[base + k] = l;
          changed = true;
        }
      }
      if (x === record[base + k + 1]) {
        const h = Math.max(record[a + k + 1]!, record[b + k + 1]!);
        if (h !== x) {
          record[base + k + 1] = h;
          changed = true;
        }
      }
    }
    if (changed) {
      let sum = 0;
      for (let k = 0; k < d2; k += 2) sum += record[base + k + 1]! - record[base + k]!;
      record[node * stride + RANGE_SUM] = sum;
    }
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
    const stride = this.stride;
    const record = this.record;
    const links = this.links;
    let node = this.root;
    // The sibling is known on the way down, so the parent link is never read.
    let sibling = NONE;
    let reach = 1; // probability that the insertion has not split x off above `node`
    let colluderMax = 0; // M over the path so far
    let expected = 0;
    for (;;) {
      const r = node * stride;
      const outside = gapSum(point, record, r + BOX, d);
      const nodeMass = record[r + MASS]!;
      if (sibling !== NONE) {
        const ratio = record[sibling * stride + MASS]! / (nodeMass + 1);
        if (ratio > colluderMax) colluderMax = ratio;
      }
      const ln = node * LINKS;
      const cutDim = links[ln + CUT_DIM]!;
      if (outside > 0) {
        const pSplit = cutDim < 0 ? 1 : outside / (record[r + RANGE_SUM]! + outside);
        expected += reach * pSplit * Math.max(nodeMass, colluderMax);
        reach *= 1 - pSplit;
        if (cutDim < 0) return expected;
      } else if (cutDim < 0) {
        return expected + reach * colluderMax;
      }
      if (point[cutDim]! <= record[r + CUT_VALUE]!) {
        node = links[ln + LEFT]!;
        sibling = links[ln + RIGHT]!;
      } else {
        node = links[ln + RIGHT]!;
        sibling = links[ln + LEFT]!;
      }
    }
  }

  /** Copies of the links: [left, right, parent, cutDim][field] for every node. */
  private linkField(field: number): Int32Array {
    const out = new Int32Array(this.capacity);
    for (let node = 0; node < out.length; node++) out[node] = this.links[node * LINKS + field]!;
    return out;
  }

  private recordField(field: number): Float64Array {
    const out = new Float64Array(this.capacity);
    for (let node = 0; node < out.length; node++) out[node] = this.record[node * this.stride + field]!;
    return out;
  }

  private boxSide(side: 0 | 1): Float64Array {
    const d = this.dimensions;
    const out = new Float64Array(this.capacity * d);
    for (let node = 0; node < this.capacity; node++) {
      for (let j = 0; j < d; j++) out[node * d + j] = this.record[node * this.stride + BOX + 2 * j + side]!;
    }
    return out;
  }

  // Per-field copies (index = node, or node × dimensions + j for boxes): for snapshots and inspection, not hot paths.
  get left(): Int32Array {
    return this.linkField(LEFT);
  }
  get right(): Int32Array {
    return this.linkField(RIGHT);
  }
  get parent(): Int32Array {
    return this.linkField(PARENT);
  }
  get cutDim(): Int32Array {
    return this.linkField(CUT_DIM);
  }
  get cutValue(): Float64Array {
    return this.recordField(CUT_VALUE);
  }
  get rangeSum(): Float64Array {
    return this.recordField(RANGE_SUM);
  }
  get mass(): Int32Array {
    return Int32Array.from(this.recordField(MASS));
  }
  get lo(): Float64Array {
    return this.boxSide(0);
  }
  get hi(): Float64Array {
    return this.boxSide(1);
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
