/**
 * One robust random cut tree (Guha, Mishra, Roy, Schrijvers: "Robust Random Cut Forest Based Anomaly
 * Detection on Streams", ICML 2016), stored in flat typed arrays.
 *
 * Node ids: internal nodes are 0 … leafBase − 1, leaves are leafBase … leafBase + maxPoints − 1. A tree over
 * S sampled points needs at most S leaves and S − 1 internal nodes, so each kind has its own pool and free
 * stack, and "is this a leaf" is a comparison, not a memory read. A leaf is its point (`leafPoints`) and its
 * parent; its box is the point.
 *
 * An internal node is split in two records, because a 100 × 256-point forest is several MB, far beyond L2,
 * so every cache line a traversal does not touch counts:
 * - `nav` (4 doubles, 32 bytes): cut value, then as int32 the masses of the left and right child, the
 *   children, the cut dimension and the parent. Walking up to fix masses touches only these (~8 KB per
 *   tree). Keeping each child's mass in its parent means a traversal learns both |child| and |sibling|
 *   from the record it already has.
 * - `boxes` (2d doubles): the bounding box of the points below, lo and hi interleaved per dimension,
 *   maintained incrementally on insert and delete so a cut is drawn in O(d) per level.
 * The box's range sum (the denominator of every cut probability) is not stored: the pass that measures how
 * far a point lies outside the box reads every side anyway and adds the ranges up in dimension order, the
 * same sum a stored field would hold, for two additions per dimension and nothing to keep in step.
 * Masses count sampled points, duplicates included; the root's mass is `size`.
 */
import type { SeededRandom } from './random.ts';

export const NONE = -1;

// `nav` holds NAV doubles per internal node; the cut value is double 0 and the int32 view indexes the rest
// from 2 × NAV × node.
const NAV = 4;
const MASS_LEFT = 2;
const MASS_RIGHT = 3;
const LEFT = 4;
const RIGHT = 5;
const CUT_DIM = 6;
const PARENT = 7;

/**
 * Measures a point against the box at `boxes[base …]` (lo, hi interleaved): returns twice the sum over
 * dimensions of how far the point lies outside it (the length of the cut range that would separate it) and
 * leaves the box's range sum in `range[0]`. Branch-free, since which side each value falls on is
 * unpredictable: g + |g| is 2·max(g, 0) exactly. Both sums run over the dimensions in order, so they are bit
 * for bit what a plain loop gives; two dimensions per step halves the loop's bookkeeping.
 */
function measureBox(
  point: Float64Array,
  boxes: Float64Array,
  base: number,
  d: number,
  range: Float64Array,
): number {
  let twice = 0;
  let sum = 0;
  let j = 0;
  let k = base;
  for (; j + 1 < d; j += 2, k += 4) {
    const x0 = point[j]!;
    const x1 = point[j + 1]!;
    const lo0 = boxes[k]!;
    const hi0 = boxes[k + 1]!;
    const lo1 = boxes[k + 2]!;
    const hi1 = boxes[k + 3]!;
    const below0 = lo0 - x0;
    const above0 = x0 - hi0;
    const below1 = lo1 - x1;
    const above1 = x1 - hi1;
    twice += below0 + Math.abs(below0) + (above0 + Math.abs(above0));
    twice += below1 + Math.abs(below1) + (above1 + Math.abs(above1));
    sum += hi0 - lo0;
    sum += hi1 - lo1;
  }
  if (j < d) {
    const x = point[j]!;
    const lo = boxes[k]!;
    const hi = boxes[k + 1]!;
    const below = lo - x;
    const above = x - hi;
    twice += below + Math.abs(below) + (above + Math.abs(above));
    sum += hi - lo;
  }
  range[0] = sum;
  return twice;
}

/** Σ |p − q| over dimensions: how far a point lies from a leaf's point (whose box has range 0). */
function distanceToLeaf(point: Float64Array, leafPoints: Float64Array, base: number, d: number): number {
  let sum = 0;
  for (let j = 0; j < d; j++) sum += Math.abs(point[j]! - leafPoints[base + j]!);
  return sum;
}

/** Everything that decides a tree's future behaviour: what snapshots save and restore. */
export interface TreeState {
  /** Internal nodes' navigation records, leafBase × 4 doubles (see the layout above). */
  readonly nav: Float64Array;
  /** Internal nodes' boxes, leafBase × 2d. */
  readonly boxes: Float64Array;
  /** Leaf points, maxPoints × d. */
  readonly leafPoints: Float64Array;
  readonly leafParent: Int32Array;
  /** Free-id stacks: the first `…FreeCount` entries are free, the last of them is handed out next. */
  readonly internalFree: Int32Array;
  readonly leafFree: Int32Array;
  readonly internalFreeCount: number;
  readonly leafFreeCount: number;
  readonly root: number;
  /** Points in the tree, duplicates included. */
  readonly size: number;
}

/** A read-only view of any tree's nodes by id: what `buildTree` copies from (e.g. an older snapshot layout). */
export interface TreeSource {
  readonly root: number;
  isLeaf(id: number): boolean;
  left(id: number): number;
  right(id: number): number;
  cutDim(id: number): number;
  cutValue(id: number): number;
  /** Box side j of an internal node, or coordinate j of a leaf's point. */
  lower(id: number, j: number): number;
  upper(id: number, j: number): number;
  mass(id: number): number;
}

export class RandomCutTree {
  readonly dimensions: number;
  readonly maxPoints: number;
  /** The first leaf id; every id below it is an internal node. */
  readonly leafBase: number;
  readonly nav: Float64Array;
  /** Int32 view of `nav`'s buffer, for the masses, links and cut dimensions. */
  private readonly links: Int32Array;
  readonly boxes: Float64Array;
  readonly leafPoints: Float64Array;
  readonly leafParent: Int32Array;
  readonly internalFree: Int32Array;
  readonly leafFree: Int32Array;
  internalFreeCount: number;
  leafFreeCount: number;
  root: number;
  size: number;
  /** Inserts since construction or restore (a diagnostic; not part of snapshots). */
  insertions = 0;
  /** Where `measureBox` leaves a range sum (a field, so the hot paths allocate nothing). */
  private readonly range = new Float64Array(1);
  /** Box sides still moving while a delete refits the boxes above it. */
  private readonly sides: Int32Array;

  /** An empty tree, or (with `state`) one restored from a snapshot after checking its structure. */
  constructor(dimensions: number, maxPoints: number, state?: TreeState) {
    this.dimensions = dimensions;
    this.maxPoints = maxPoints;
    this.leafBase = Math.max(maxPoints - 1, 0);
    const internal = this.leafBase;
    const sizes = {
      nav: internal * NAV,
      boxes: internal * 2 * dimensions,
      leafPoints: maxPoints * dimensions,
      leafParent: maxPoints,
      internalFree: internal,
      leafFree: maxPoints,
    };
    if (state !== undefined) {
      for (const [name, length] of Object.entries(sizes)) {
        const got = state[name as keyof typeof sizes].length;
        if (got !== length) throw new RangeError(`${name} has ${got} entries, expected ${length}`);
      }
      this.nav = state.nav;
      this.boxes = state.boxes;
      this.leafPoints = state.leafPoints;
      this.leafParent = state.leafParent;
      this.internalFree = state.internalFree;
      this.leafFree = state.leafFree;
      this.internalFreeCount = state.internalFreeCount;
      this.leafFreeCount = state.leafFreeCount;
      this.root = state.root;
      this.size = state.size;
    } else {
      this.nav = new Float64Array(sizes.nav);
      this.boxes = new Float64Array(sizes.boxes);
      this.leafPoints = new Float64Array(sizes.leafPoints);
      this.leafParent = new Int32Array(sizes.leafParent).fill(NONE);
      // Lowest ids on top of each stack, so a fresh tree fills its pools from the front.
      this.internalFree = Int32Array.from({ length: internal }, (_, i) => internal - 1 - i);
      this.leafFree = Int32Array.from({ length: maxPoints }, (_, i) => internal + maxPoints - 1 - i);
      this.internalFreeCount = internal;
      this.leafFreeCount = maxPoints;
      this.root = NONE;
      this.size = 0;
    }
    this.links = new Int32Array(this.nav.buffer, this.nav.byteOffset, this.nav.length * 2);
    this.sides = new Int32Array(2 * dimensions);
    if (state !== undefined) this.checkStructure();
  }

  isLeaf(id: number): boolean {
    return id >= this.leafBase;
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
   * probability outside / (range + outside), and is then uniform over those gaps. So one draw decides
   * whether to split, and only a split needs the cut itself; when p lies inside B nothing is drawn at all.
   */
  insert(point: Float64Array, rng: SeededRandom): number {
    this.insertions++;
    if (this.root === NONE) {
      const leaf = this.newLeaf(point, NONE);
      this.root = leaf;
      this.size = 1;
      return leaf;
    }
    const d = this.dimensions;
    const d2 = 2 * d;
    const nav = this.nav;
    const links = this.links;
    const boxes = this.boxes;
    const range = this.range;
    const leafBase = this.leafBase;
    let node = this.root;
    // Points under `node` before this insertion; each step down counts p in the child it enters.
    let mass = this.size++;
    while (node < leafBase) {
      const box = node * d2;
      const outside = measureBox(point, boxes, box, d, range) * 0.5;
      if (outside > 0) {
        const u = rng.next() * (range[0]! + outside);
        if (u < outside) return this.splitAbove(node, mass, point, u);
        // Not split here: the box grows to take p, and the descent goes on.
        for (let j = 0, k = box; j < d; j++, k += 2) {
          const x = point[j]!;
          if (x < boxes[k]!) boxes[k] = x;
          else if (x > boxes[k + 1]!) boxes[k + 1] = x;
        }
      }
      // Which side p takes is unpredictable, so it is an index (right = left + 1), not a branch.
      const n = node * NAV;
      const right = Number(point[links[2 * n + CUT_DIM]!]! > nav[n]!);
      mass = links[2 * n + MASS_LEFT + right]!++;
      node = links[2 * n + LEFT + right]!;
    }
    // A leaf: p either repeats its point (and was counted on the way down) or is split off beside it.
    const outside = distanceToLeaf(point, this.leafPoints, (node - leafBase) * d, d);
    if (outside === 0) return node;
    // Any cut between the two points separates them.
    const u = rng.next() * outside;
    return this.splitAbove(node, mass, point, u < outside ? u : 0);
  }

  /**
   * Removes one copy of a leaf's point. The leaf's sibling takes its parent's place; boxes above are
   * recomputed from their children only while they actually shrink (a deleted interior point changes no box).
   */
  delete(leaf: number): void {
    const links = this.links;
    const up = this.leafParent[leaf - this.leafBase]!;
    this.size--;
    if (up === NONE) {
      if (this.size === 0) {
        this.releaseLeaf(leaf);
        this.root = NONE;
      }
      return;
    }
    const u = 2 * NAV * up;
    const fromLeft = links[u + LEFT] === leaf;
    if (links[u + (fromLeft ? MASS_LEFT : MASS_RIGHT)]! > 1) {
      // A duplicate: only the masses on the path change.
      this.uncount(leaf, up);
      return;
    }
    const sibling = links[u + (fromLeft ? RIGHT : LEFT)]!;
    const siblingMass = links[u + (fromLeft ? MASS_RIGHT : MASS_LEFT)]!;
    const grand = links[u + PARENT]!;
    this.setParent(sibling, grand);
    this.releaseLeaf(leaf);
    this.releaseInternal(up);
    if (grand === NONE) {
      this.root = sibling;
      return;
    }
    const g = 2 * NAV * grand;
    if (links[g + LEFT] === up) {
      links[g + LEFT] = sibling;
      links[g + MASS_LEFT] = siblingMass;
    } else {
      links[g + RIGHT] = sibling;
      links[g + MASS_RIGHT] = siblingMass;
    }
    // Boxes shrink only while they were bounded by the deleted point; above that, only masses change. Only a
    // side the point lay on can move, and only while it keeps moving: a side another point also attains
    // stays, and so does that side of every box above. So the sides still moving are listed in `sides`
    // (2j for lo, 2j + 1 for hi), starting with grand's sides that equal the point; the freed leaf's slot
    // still holds the point.
    const d = this.dimensions;
    const boxes = this.boxes;
    const leafPoints = this.leafPoints;
    const sides = this.sides;
    const point = (leaf - this.leafBase) * d;
    let count = 0;
    for (let k = 0, b = grand * 2 * d; k < 2 * d; k++) {
      // Branch-free: whether the point attains a side is data, not a pattern.
      sides[count] = k;
      count += Number(boxes[b + k] === leafPoints[point + (k >> 1)]);
    }
    let node = grand;
    for (;;) {
      count = this.refitSides(node, point, count);
      if (count === 0) break;
      const above = links[2 * NAV * node + PARENT]!;
      if (above === NONE) return;
      const a = 2 * NAV * above;
      links[a + MASS_LEFT + Number(links[a + LEFT] !== node)]!--;
      node = above;
      // A side the point no longer attains here was set by another point and stays.
      let kept = 0;
      for (let i = 0, b = node * 2 * d; i < count; i++) {
        const k = sides[i]!;
        sides[kept] = k;
        kept += Number(boxes[b + k] === leafPoints[point + (k >> 1)]);
      }
      count = kept;
    }
    this.uncount(node, links[2 * NAV * node + PARENT]!);
  }

  /** Takes one point off the masses from `child`'s slot in `parent` up to the root. */
  private uncount(child: number, parent: number): void {
    const links = this.links;
    for (let node = child, up = parent; up !== NONE; node = up, up = links[2 * NAV * up + PARENT]!) {
      const a = 2 * NAV * up;
      links[a + MASS_LEFT + Number(links[a + LEFT] !== node)]!--;
    }
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
    const d2 = 2 * d;
    const nav = this.nav;
    const links = this.links;
    const boxes = this.boxes;
    const range = this.range;
    const leafBase = this.leafBase;
    let node = this.root;
    let nodeMass = this.size;
    let siblingMass = 0; // 0 at the root, which has no sibling
    let reach = 1; // probability that the insertion has not split x off above `node`
    let colluderMax = 0; // M over the path so far
    let expected = 0;
    while (node < leafBase) {
      const outside = measureBox(point, boxes, node * d2, d, range) * 0.5;
      const ratio = siblingMass / (nodeMass + 1);
      if (ratio > colluderMax) colluderMax = ratio;
      if (outside > 0) {
        const pSplit = outside / (range[0]! + outside);
        expected += reach * pSplit * Math.max(nodeMass, colluderMax);
        reach *= 1 - pSplit;
      }
      const n = node * NAV;
      const right = Number(point[links[2 * n + CUT_DIM]!]! > nav[n]!);
      nodeMass = links[2 * n + MASS_LEFT + right]!;
      siblingMass = links[2 * n + MASS_RIGHT - right]!;
      node = links[2 * n + LEFT + right]!;
    }
    const ratio = siblingMass / (nodeMass + 1);
    if (ratio > colluderMax) colluderMax = ratio;
    // Off the leaf's point any cut separates (probability 1); on it, x joins the leaf.
    return distanceToLeaf(point, this.leafPoints, (node - leafBase) * d, d) > 0
      ? expected + reach * Math.max(nodeMass, colluderMax)
      : expected + reach * colluderMax;
  }

  /**
   * Puts a new branch above `node` (which holds `nodeMass` points) whose cut separates p from node's box: the
   * cut lies `offset` into the gaps between them, taken dimension by dimension. Points go left when value <= cut.
   */
  private splitAbove(node: number, nodeMass: number, point: Float64Array, offset: number): number {
    const d = this.dimensions;
    const leaf = node >= this.leafBase;
    // A leaf's box is its point: lo and hi are the same value.
    const array = leaf ? this.leafPoints : this.boxes;
    const base = leaf ? (node - this.leafBase) * d : node * 2 * d;
    const step = leaf ? 1 : 2;
    const upper = leaf ? 0 : 1;
    let dim = -1;
    let cut = 0;
    let rest = offset;
    for (let j = 0, k = base; j < d; j++, k += step) {
      const x = point[j]!;
      const l = array[k]!;
      const h = array[k + upper]!;
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
    const l = array[base + dim * step]!;
    const h = array[base + dim * step + upper]!;
    // Rounding can push the cut onto the far edge of the gap (or leave rest past the last gap); any cut in
    // [x, l) or [h, x) is a valid separating cut, so fall back to the near edge.
    if (x < l) {
      if (!(cut >= x && cut < l)) cut = x;
    } else if (!(cut >= h && cut < x)) cut = h;

    const above = this.parentOf(node);
    const branch = this.allocateInternal();
    const newLeaf = this.newLeaf(point, branch);
    const boxes = this.boxes;
    for (let j = 0, k = branch * 2 * d, s = base; j < d; j++, k += 2, s += step) {
      const p = point[j]!;
      boxes[k] = Math.min(p, array[s]!);
      boxes[k + 1] = Math.max(p, array[s + upper]!);
    }
    const links = this.links;
    const b = 2 * NAV * branch;
    this.nav[NAV * branch] = cut;
    links[b + CUT_DIM] = dim;
    links[b + PARENT] = above;
    if (point[dim]! <= cut) {
      links[b + LEFT] = newLeaf;
      links[b + MASS_LEFT] = 1;
      links[b + RIGHT] = node;
      links[b + MASS_RIGHT] = nodeMass;
    } else {
      links[b + LEFT] = node;
      links[b + MASS_LEFT] = nodeMass;
      links[b + RIGHT] = newLeaf;
      links[b + MASS_RIGHT] = 1;
    }
    // The slot of `node` in its parent already counts p (it was counted on the way down).
    if (above === NONE) this.root = branch;
    else {
      const a = 2 * NAV * above;
      if (links[a + LEFT] === node) links[a + LEFT] = branch;
      else links[a + RIGHT] = branch;
    }
    this.setParent(node, branch);
    return newLeaf;
  }

  /**
   * Recomputes the listed sides of an internal node's box from its children (already refitted) after the
   * point at `leafPoints[point …]`, which attained them, left its subtree. Keeps in `sides` only the sides
   * that moved and returns their number.
   */
  private refitSides(node: number, point: number, count: number): number {
    const d = this.dimensions;
    const boxes = this.boxes;
    const sides = this.sides;
    const n = 2 * NAV * node;
    const left = this.links[n + LEFT]!;
    const right = this.links[n + RIGHT]!;
    let kept = 0;
    for (let i = 0, b = node * 2 * d; i < count; i++) {
      const k = sides[i]!;
      const x = this.leafPoints[point + (k >> 1)]!;
      const l = this.sideOf(left, k);
      const r = this.sideOf(right, k);
      const side = (k & 1) === 0 ? Math.min(l, r) : Math.max(l, r);
      if (side !== x) {
        boxes[b + k] = side;
        sides[kept++] = k;
      }
    }
    return kept;
  }

  /** Side k (2j for lo, 2j + 1 for hi) of a node's box; a leaf's box is its point. */
  private sideOf(id: number, k: number): number {
    return id >= this.leafBase
      ? this.leafPoints[(id - this.leafBase) * this.dimensions + (k >> 1)]!
      : this.boxes[id * 2 * this.dimensions + k]!;
  }

  private allocateInternal(): number {
    if (this.internalFreeCount === 0) throw new RangeError('random cut tree node pool exhausted');
    return this.internalFree[--this.internalFreeCount]!;
  }

  private newLeaf(point: Float64Array, parent: number): number {
    if (this.leafFreeCount === 0) throw new RangeError('random cut tree leaf pool exhausted');
    const leaf = this.leafFree[--this.leafFreeCount]!;
    const d = this.dimensions;
    const y = (leaf - this.leafBase) * d;
    for (let j = 0; j < d; j++) this.leafPoints[y + j] = point[j]!;
    this.leafParent[leaf - this.leafBase] = parent;
    return leaf;
  }

  private releaseLeaf(leaf: number): void {
    this.leafParent[leaf - this.leafBase] = NONE;
    this.leafFree[this.leafFreeCount++] = leaf;
  }

  /** Frees an internal node; its links are cleared so a snapshot holds no stale ids (its numbers stay). */
  private releaseInternal(node: number): void {
    const n = 2 * NAV * node;
    const links = this.links;
    links[n + MASS_LEFT] = 0;
    links[n + MASS_RIGHT] = 0;
    links[n + LEFT] = NONE;
    links[n + RIGHT] = NONE;
    links[n + CUT_DIM] = NONE;
    links[n + PARENT] = NONE;
    this.internalFree[this.internalFreeCount++] = node;
  }

  private setParent(id: number, parent: number): void {
    if (id >= this.leafBase) this.leafParent[id - this.leafBase] = parent;
    else this.links[2 * NAV * id + PARENT] = parent;
  }

  // Per-node accessors by id, for the cold paths: splits, snapshots, checks and tests.

  parentOf(id: number): number {
    return id >= this.leafBase ? this.leafParent[id - this.leafBase]! : this.links[2 * NAV * id + PARENT]!;
  }
  leftOf(node: number): number {
    return this.links[2 * NAV * node + LEFT]!;
  }
  rightOf(node: number): number {
    return this.links[2 * NAV * node + RIGHT]!;
  }
  cutDimOf(node: number): number {
    return this.links[2 * NAV * node + CUT_DIM]!;
  }
  cutValueOf(node: number): number {
    return this.nav[NAV * node]!;
  }
  /** Side j of a node's box (a leaf's box is its point). */
  lowerOf(id: number, j: number): number {
    return this.sideOf(id, 2 * j);
  }
  upperOf(id: number, j: number): number {
    return this.sideOf(id, 2 * j + 1);
  }
  /** Points under a node, duplicates included (0 for a free node). */
  massOf(id: number): number {
    const up = this.parentOf(id);
    if (up === NONE) return id === this.root ? this.size : 0;
    const n = 2 * NAV * up;
    return this.links[n + (this.links[n + LEFT] === id ? MASS_LEFT : MASS_RIGHT)]!;
  }

  /** The state a snapshot saves (the arrays themselves, not copies). */
  state(): TreeState {
    return {
      nav: this.nav,
      boxes: this.boxes,
      leafPoints: this.leafPoints,
      leafParent: this.leafParent,
      internalFree: this.internalFree,
      leafFree: this.leafFree,
      internalFreeCount: this.internalFreeCount,
      leafFreeCount: this.leafFreeCount,
      root: this.root,
      size: this.size,
    };
  }

  /** An independent copy that evolves exactly as this tree would. */
  clone(): RandomCutTree {
    return new RandomCutTree(this.dimensions, this.maxPoints, {
      ...this.state(),
      nav: this.nav.slice(),
      boxes: this.boxes.slice(),
      leafPoints: this.leafPoints.slice(),
      leafParent: this.leafParent.slice(),
      internalFree: this.internalFree.slice(),
      leafFree: this.leafFree.slice(),
    });
  }

  /**
   * Checks what a traversal or an update relies on, so a corrupted snapshot fails on restore rather than
   * looping or writing outside a pool: the nodes reachable from the root form a tree with consistent parent
   * links, cut dimensions and masses, and the free stacks hold exactly the unreachable ids. Boxes and cuts
   * are not checked: wrong numbers give wrong scores, not a broken structure. Throws RangeError.
   */
  private checkStructure(): void {
    const leafBase = this.leafBase;
    const total = leafBase + this.maxPoints;
    const links = this.links;
    const fail = (what: string): never => {
      throw new RangeError(`random cut tree: ${what}`);
    };
    if (!Number.isInteger(this.size) || this.size < 0 || this.size > this.maxPoints)
      fail(`size ${this.size}`);
    if ((this.root === NONE) !== (this.size === 0)) fail(`size ${this.size} does not fit the root`);
    const inUse = new Uint8Array(total);
    const visit = (id: number, parent: number): void => {
      if (!Number.isInteger(id) || id < 0 || id >= total) fail(`node id ${id} out of range`);
      if (inUse[id] !== 0) fail(`node ${id} is reached twice`);
      inUse[id] = 1;
      if (this.parentOf(id) !== parent) fail(`node ${id} has the wrong parent`);
    };
    const massBelow = (id: number): number =>
      links[2 * NAV * id + MASS_LEFT]! + links[2 * NAV * id + MASS_RIGHT]!;
    const stack: number[] = [];
    if (this.root !== NONE) {
      visit(this.root, NONE);
      if (this.root < leafBase && massBelow(this.root) !== this.size) fail('root mass is not the size');
      stack.push(this.root);
    }
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node >= leafBase) continue;
      const n = 2 * NAV * node;
      const cutDim = links[n + CUT_DIM]!;
      if (cutDim < 0 || cutDim >= this.dimensions) fail(`node ${node} cuts dimension ${cutDim}`);
      for (const [side, slot] of [
        [LEFT, MASS_LEFT],
        [RIGHT, MASS_RIGHT],
      ] as const) {
        const child = links[n + side]!;
        visit(child, node);
        const mass = links[n + slot]!;
        if (mass < 1 || (child < leafBase && mass !== massBelow(child))) {
          fail(`node ${node} holds the wrong mass for ${child}`);
        }
        stack.push(child);
      }
    }
    const checkFree = (free: Int32Array, freeCount: number, from: number, to: number, kind: string) => {
      let used = 0;
      for (let id = from; id < to; id++) used += inUse[id]!;
      if (freeCount !== to - from - used) fail(`${kind} free count ${freeCount} does not match the tree`);
      for (let k = 0; k < freeCount; k++) {
        const id = free[k]!;
        if (id < from || id >= to || inUse[id] !== 0) fail(`${kind} free stack holds ${id}`);
        inUse[id] = 2;
      }
    };
    checkFree(this.internalFree, this.internalFreeCount, 0, leafBase, 'internal');
    checkFree(this.leafFree, this.leafFreeCount, leafBase, total, 'leaf');
  }
}

/**
 * Copies a tree given through `TreeSource` (e.g. an older snapshot layout) into a new pool, walking it from
 * the root; returns the tree and, for each of the source's `sourceIds` ids, the new id (or NONE). Fails with
 * RangeError on a source that is not a tree of at most `maxPoints` leaves over valid ids.
 */
export function buildTree(
  dimensions: number,
  maxPoints: number,
  source: TreeSource,
  sourceIds: number,
): { tree: RandomCutTree; idOf: Int32Array } {
  const tree = new RandomCutTree(dimensions, maxPoints);
  const idOf = new Int32Array(sourceIds).fill(NONE);
  if (source.root === NONE) return { tree, idOf };
  const fail = (what: string): never => {
    throw new RangeError(`random cut tree: ${what}`);
  };
  const { nav, boxes, leafPoints, leafParent } = tree;
  const links = new Int32Array(nav.buffer, nav.byteOffset, nav.length * 2);
  const d = dimensions;
  // Ids are handed out in visiting order; a node's children are linked when the node is expanded.
  const copy = (id: number, parent: number): number => {
    if (!Number.isInteger(id) || id < 0 || id >= sourceIds) fail(`node id ${id} out of range`);
    if (idOf[id] !== NONE) fail(`node ${id} is reached twice`);
    let target: number;
    if (source.isLeaf(id)) {
      if (tree.leafFreeCount === 0) fail('more leaves than sampled points');
      target = tree.leafFree[--tree.leafFreeCount]!;
      for (let j = 0; j < d; j++) leafPoints[(target - tree.leafBase) * d + j] = source.lower(id, j);
      leafParent[target - tree.leafBase] = parent;
    } else {
      if (tree.internalFreeCount === 0) fail('more internal nodes than a tree of this size has');
      target = tree.internalFree[--tree.internalFreeCount]!;
      for (let j = 0; j < d; j++) {
        boxes[target * 2 * d + 2 * j] = source.lower(id, j);
        boxes[target * 2 * d + 2 * j + 1] = source.upper(id, j);
      }
      const cutDim = source.cutDim(id);
      if (!Number.isInteger(cutDim) || cutDim < 0 || cutDim >= d) fail(`node ${id} cuts dimension ${cutDim}`);
      nav[NAV * target] = source.cutValue(id);
      links[2 * NAV * target + CUT_DIM] = cutDim;
      links[2 * NAV * target + PARENT] = parent;
    }
    idOf[id] = target;
    return target;
  };
  tree.root = copy(source.root, NONE);
  tree.size = source.mass(source.root);
  const stack = [source.root];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (source.isLeaf(id)) continue;
    const n = 2 * NAV * idOf[id]!;
    const left = source.left(id);
    const right = source.right(id);
    links[n + LEFT] = copy(left, idOf[id]!);
    links[n + RIGHT] = copy(right, idOf[id]!);
    links[n + MASS_LEFT] = source.mass(left);
    links[n + MASS_RIGHT] = source.mass(right);
    stack.push(left, right);
  }
  // Restoring from the copied state runs the structural checks (masses, links, free stacks) on it.
  return { tree: new RandomCutTree(dimensions, maxPoints, tree.state()), idOf };
}
