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
 *
 * The arrays are views into a WebAssembly.Memory (a TreeArena, which a forest's trees share), and the work
 * done on every update and score (insert, delete, expected CoDisp) runs in a WebAssembly kernel compiled
 * from assembly/tree.ts: the same steps as described here, without the bounds and type checks V8 puts on
 * every typed-array access, for ×1.4–1.5 per update and per score and bit-identical results. A forest
 * hands the kernel all the trees an update changes in one call (`TreeArena.changeBatch`), which first walks
 * their paths side by side so their cache misses overlap: ×1.14–1.19 more per update. A run of points goes
 * tree by tree instead (forest.ts `updateAll`), one kernel call per change (`changeToStaged`) or per run of
 * scores (`addCoDispOfStaged`) over points staged in the arena, and misses far less. This file keeps the
 * layout, the snapshot state, the structure checks and the per-node accessors.
 */
import type { SeededRandom } from './random.ts';
import { TREE_WASM_BASE64 } from './tree-wasm.ts';

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

// A tree's header in its arena, in int32 slots (assembly/tree.ts lists the fields).
const HEADER_BYTES = 128;
const ROOT_SLOT = 0;
const SIZE_SLOT = 1;
const INTERNAL_FREE_SLOT = 2;
const LEAF_FREE_SLOT = 3;
const RNG_SLOT = 4;
const DIMENSIONS_SLOT = 8;
const LEAF_BASE_SLOT = 9;
const QUERY_SLOT = 10;
const WASM_PAGE_BYTES = 65536;
const CACHE_LINE = 64;

/** The exports of assembly/tree.ts; `tree` is the byte offset of a tree's header. */
interface TreeKernel {
  insert(tree: number): number;
  remove(tree: number, leaf: number): void;
  replace(tree: number, leaf: number): number;
  expectedCoDisp(tree: number): number;
  sumCoDisp(first: number, count: number, stride: number): number;
  changeBatch(list: number, count: number): void;
  changeAt(tree: number, leaf: number, point: number): number;
  addCoDisp(tree: number, points: number, count: number, sums: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** The kernel, compiled once per process (a few kB). */
function treeModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(TREE_WASM_BASE64, 'base64'));
  return compiled;
}

/** Byte offsets of a tree's parts from its header, and the bytes it takes, for trees of one shape. */
function treeLayout(dimensions: number, maxPoints: number) {
  const internal = Math.max(maxPoints - 1, 0);
  let end = HEADER_BYTES;
  const place = (bytes: number, align = 8): number => {
    const at = Math.ceil(end / align) * align;
    end = at + bytes;
    return at;
  };
  // Records start on cache lines.
  const offsets = {
    sides: place(4 * 2 * dimensions),
    nav: place(8 * internal * NAV, CACHE_LINE),
    boxes: place(8 * internal * 2 * dimensions, CACHE_LINE),
    leafPoints: place(8 * maxPoints * dimensions, CACHE_LINE),
    leafParent: place(4 * maxPoints),
    internalFree: place(4 * internal),
    leafFree: place(4 * maxPoints),
  };
  return { offsets, bytes: Math.ceil(end / CACHE_LINE) * CACHE_LINE };
}

/**
 * One WebAssembly memory and kernel instance holding a fixed number of trees of one shape, and the query
 * point they share. A forest puts all its trees in one arena, so every kernel call goes to the same
 * function (V8 then calls it directly) and a point is written once for all trees. The memory never grows,
 * so views into it stay valid; it is freed with the arena when the last of its trees is dropped.
 */
export class TreeArena {
  readonly dimensions: number;
  readonly maxPoints: number;
  readonly buffer: ArrayBuffer;
  readonly kernel: TreeKernel;
  /** The point the next insert or score works on; callers that write it here spare the tree a copy. */
  readonly query: Float64Array;
  private readonly layout: ReturnType<typeof treeLayout>;
  private readonly capacity: number;
  /** Where the first tree's header sits: after the query point, on a cache line. */
  private readonly firstTree: number;
  private claimed = 0;
  private readonly batchAt: number;
  /** `changeBatch`'s records: (tree header, leaf to delete or NONE, the new leaf it writes, scratch). */
  readonly batch: Int32Array;
  /** Points staged for the tree-by-tree calls (`changeToStaged`, `addCoDispOfStaged`), d values each. */
  readonly staged: Float64Array;
  /** One sum per staged point, which `addCoDispOfStaged` adds to. */
  readonly stagedSums: Float64Array;
  private readonly stagedAt: number;
  private readonly stagedSumsAt: number;

  /** `stagedPoints` sizes the staging area (none by default: a lone tree needs none). */
  constructor(dimensions: number, maxPoints: number, trees: number, stagedPoints = 0) {
    this.dimensions = dimensions;
    this.maxPoints = maxPoints;
    this.capacity = trees;
    this.layout = treeLayout(dimensions, maxPoints);
    const line = (bytes: number): number => Math.ceil(bytes / CACHE_LINE) * CACHE_LINE;
    this.batchAt = line(8 * dimensions);
    this.stagedAt = line(this.batchAt + 16 * trees);
    this.stagedSumsAt = line(this.stagedAt + 8 * dimensions * stagedPoints);
    this.firstTree = line(this.stagedSumsAt + 8 * stagedPoints);
    const bytes = this.firstTree + trees * this.layout.bytes;
    const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES)) });
    this.buffer = memory.buffer;
    this.query = new Float64Array(this.buffer, 0, dimensions);
    this.batch = new Int32Array(this.buffer, this.batchAt, 4 * trees);
    this.staged = new Float64Array(this.buffer, this.stagedAt, dimensions * stagedPoints);
    this.stagedSums = new Float64Array(this.buffer, this.stagedSumsAt, stagedPoints);
    this.kernel = new WebAssembly.Instance(treeModule(), { env: { memory } })
      .exports as unknown as TreeKernel;
  }

  /** Σ over the arena's trees, in the order they were placed, of the query point's expected CoDisp. */
  sumCoDisp(): number {
    return this.kernel.sumCoDisp(this.firstTree, this.claimed, this.layout.bytes);
  }

  /**
   * Inserts the query point into the trees listed in `batch`'s first `count` records, each after deleting
   * the record's leaf, as the trees' own `replace` or `insert` would (assembly/tree.ts `changeBatch` says
   * why in one call). Callers own the checks those make: each leaf is a leaf of its tree, and a tree that
   * only inserts has room.
   */
  changeBatch(count: number): void {
    this.kernel.changeBatch(this.batchAt, count);
  }

  /**
   * Removes one copy of `leaf` (none when NONE) from the tree whose header is at `tree`, then inserts staged
   * point `k`; returns its leaf. The caller owns the same checks as for `changeBatch`.
   */
  changeToStaged(tree: number, leaf: number, k: number): number {
    return this.kernel.changeAt(tree, leaf, this.stagedAt + 8 * this.dimensions * k);
  }

  /** Adds the tree's expected CoDisp of each staged point from `from` to `from + count − 1` to its `stagedSums` entry. */
  addCoDispOfStaged(tree: number, from: number, count: number): void {
    this.kernel.addCoDisp(
      tree,
      this.stagedAt + 8 * this.dimensions * from,
      count,
      this.stagedSumsAt + 8 * from,
    );
  }

  /** Hands out the next tree's place, its header filled in: the header's offset and its parts' offsets. */
  claim(): { at: number; offsets: ReturnType<typeof treeLayout>['offsets'] } {
    if (this.claimed === this.capacity) throw new RangeError(`tree arena holds only ${this.capacity} trees`);
    const at = this.firstTree + this.claimed++ * this.layout.bytes;
    const { offsets } = this.layout;
    const header = new Int32Array(this.buffer, at, HEADER_BYTES / 4);
    header[DIMENSIONS_SLOT] = this.dimensions;
    header[LEAF_BASE_SLOT] = Math.max(this.maxPoints - 1, 0);
    header.set(
      [
        0, // the query point, at the start of the memory
        at + offsets.sides,
        at + offsets.nav,
        at + offsets.boxes,
        at + offsets.leafPoints,
        at + offsets.leafParent,
        at + offsets.internalFree,
        at + offsets.leafFree,
      ],
      QUERY_SLOT,
    );
    return { at, offsets };
  }
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
  /** Inserts since construction or restore (a diagnostic; not part of snapshots). */
  insertions = 0;
  /** The PRNG state the kernel draws from; a SeededRandom over this very array needs no copying. */
  readonly rngState: Uint32Array;
  private readonly arena: TreeArena;
  /** Byte offset of this tree's header in the arena. */
  readonly at: number;
  /** The header's scalars: root, size, the two free counts. */
  private readonly header: Int32Array;

  /**
   * An empty tree, or (with `state`) one restored from a snapshot after checking its structure; in an
   * arena of its own unless given one with room.
   */
  constructor(dimensions: number, maxPoints: number, state?: TreeState, arena?: TreeArena) {
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
    }
    if (arena !== undefined && (arena.dimensions !== dimensions || arena.maxPoints !== maxPoints)) {
      throw new RangeError('the arena holds trees of another shape');
    }
    this.arena = arena ?? new TreeArena(dimensions, maxPoints, 1);
    const { at, offsets } = this.arena.claim();
    const buffer = this.arena.buffer;
    this.at = at;
    this.header = new Int32Array(buffer, at, 4);
    this.rngState = new Uint32Array(buffer, at + 4 * RNG_SLOT, 4);
    this.nav = new Float64Array(buffer, offsets.nav + at, sizes.nav);
    this.links = new Int32Array(buffer, offsets.nav + at, sizes.nav * 2);
    this.boxes = new Float64Array(buffer, offsets.boxes + at, sizes.boxes);
    this.leafPoints = new Float64Array(buffer, offsets.leafPoints + at, sizes.leafPoints);
    this.leafParent = new Int32Array(buffer, offsets.leafParent + at, sizes.leafParent);
    this.internalFree = new Int32Array(buffer, offsets.internalFree + at, sizes.internalFree);
    this.leafFree = new Int32Array(buffer, offsets.leafFree + at, sizes.leafFree);
    if (state !== undefined) {
      this.nav.set(state.nav);
      this.boxes.set(state.boxes);
      this.leafPoints.set(state.leafPoints);
      this.leafParent.set(state.leafParent);
      this.internalFree.set(state.internalFree);
      this.leafFree.set(state.leafFree);
      this.internalFreeCount = state.internalFreeCount;
      this.leafFreeCount = state.leafFreeCount;
      this.root = state.root;
      this.size = state.size;
      this.checkStructure();
    } else {
      this.leafParent.fill(NONE);
      // Lowest ids on top of each stack, so a fresh tree fills its pools from the front.
      for (let i = 0; i < internal; i++) this.internalFree[i] = internal - 1 - i;
      for (let i = 0; i < maxPoints; i++) this.leafFree[i] = internal + maxPoints - 1 - i;
      this.internalFreeCount = internal;
      this.leafFreeCount = maxPoints;
      this.root = NONE;
      this.size = 0;
    }
  }

  get root(): number {
    return this.header[ROOT_SLOT]!;
  }
  set root(id: number) {
    this.header[ROOT_SLOT] = id;
  }
  /** Points in the tree, duplicates included. */
  get size(): number {
    return this.header[SIZE_SLOT]!;
  }
  set size(points: number) {
    this.header[SIZE_SLOT] = points;
  }
  get internalFreeCount(): number {
    return this.header[INTERNAL_FREE_SLOT]!;
  }
  set internalFreeCount(count: number) {
    this.header[INTERNAL_FREE_SLOT] = count;
  }
  get leafFreeCount(): number {
    return this.header[LEAF_FREE_SLOT]!;
  }
  set leafFreeCount(count: number) {
    this.header[LEAF_FREE_SLOT] = count;
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
    // A new point needs a leaf and, below a non-empty root, a branch: checked here so the kernel's pops
    // cannot underflow.
    if (this.leafFreeCount === 0 || (this.root !== NONE && this.internalFreeCount === 0)) {
      throw new RangeError('random cut tree node pool exhausted');
    }
    return this.insertAfter(NONE, point, rng);
  }

  /**
   * Removes one copy of a leaf's point. The leaf's sibling takes its parent's place; boxes above are
   * recomputed from their children only while they actually shrink (a deleted interior point changes no box).
   */
  delete(leaf: number): void {
    this.checkLeaf(leaf);
    this.arena.kernel.remove(this.at, leaf);
  }

  /** `delete(leaf)` then `insert(point, rng)`, as a full reservoir swaps a point, in one kernel call. */
  replace(leaf: number, point: Float64Array, rng: SeededRandom): number {
    this.checkLeaf(leaf);
    return this.insertAfter(leaf, point, rng);
  }

  /**
   * Inserts `point` with `rng`'s draws, after deleting the leaf `gone` unless it is NONE, in one kernel call.
   * The point goes through the arena's query buffer and the draws through this tree's PRNG slot, each copied
   * only when the caller's is not already that memory (a forest's are).
   */
  private insertAfter(gone: number, point: Float64Array, rng: SeededRandom): number {
    this.insertions++;
    const query = this.arena.query;
    if (point !== query) query.set(point);
    const ownState = rng.state === this.rngState;
    if (!ownState) this.rngState.set(rng.state);
    const kernel = this.arena.kernel;
    const leaf = gone === NONE ? kernel.insert(this.at) : kernel.replace(this.at, gone);
    if (!ownState) rng.state.set(this.rngState);
    return leaf;
  }

  /** The kernel trusts ids; a wrong one would corrupt the tree, so it is refused here. */
  private checkLeaf(leaf: number): void {
    const inTree = leaf >= this.leafBase && leaf < this.leafBase + this.maxPoints && this.size > 0;
    if (!inTree || (this.parentOf(leaf) === NONE && leaf !== this.root)) {
      throw new RangeError(`random cut tree: ${leaf} is not a leaf in the tree`);
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
    const query = this.arena.query;
    if (point !== query) query.set(point);
    return this.arena.kernel.expectedCoDisp(this.at);
  }

  /** Side k (2j for lo, 2j + 1 for hi) of a node's box; a leaf's box is its point. */
  private sideOf(id: number, k: number): number {
    return id >= this.leafBase
      ? this.leafPoints[(id - this.leafBase) * this.dimensions + (k >> 1)]!
      : this.boxes[id * 2 * this.dimensions + k]!;
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

  /** An independent copy that evolves exactly as this tree would (a tree copies a state into its own arena). */
  clone(): RandomCutTree {
    return new RandomCutTree(this.dimensions, this.maxPoints, this.state());
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
