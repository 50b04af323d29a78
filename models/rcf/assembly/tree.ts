/**
 * The random cut tree's hot paths (insert, delete, expected CoDisp) in AssemblyScript, compiled to
 * WebAssembly by `npm run build:wasm` into ../tree-wasm.ts. ../tree.ts owns the trees: it lays them out in a
 * WebAssembly.Memory (a TreeArena, one per forest; the layout below), keeps the cold paths (restore checks,
 * snapshots, accessors) and calls these functions for the work done on every update and score. The algorithms and
 * their reasons are documented in tree.ts; this file is the same steps over raw memory, in the same order,
 * so results are bit for bit what the TypeScript version gave. WebAssembly buys what V8's typed arrays
 * cannot: no bounds check or tag check per access and plain register arithmetic (×1.4–1.5 per update and
 * per score, measured against the TypeScript version interleaved in one process).
 *
 * Memory layout. Every function takes `tree`, the byte offset of a tree's header; the header holds the
 * tree's scalars and where its arrays are, so one instance serves every tree in its memory (tree.ts's
 * `TreeArena` lays them out and must agree with these offsets):
 *   0   root                 i32
 *   4   size                 i32
 *   8   internal free count  i32
 *   12  leaf free count      i32
 *   16  PRNG state           4 × u32 (xoshiro128**, as random.ts)
 *   32  dimensions d         i32
 *   36  leafBase             i32 (the first leaf id)
 *   40… offsets of the query point (d × f64), the delete's side list (2d × i32), the internal nodes' nav
 *       records (32 bytes: f64 cut; i32 mass left, mass right, left, right, cut dimension, parent), their
 *       boxes (2d × f64, lo and hi interleaved), leaf points (d × f64), leaf parents (i32) and the two
 *       free stacks (i32).
 */

const ROOT: usize = 0;
const SIZE: usize = 4;
const INTERNAL_FREE_COUNT: usize = 8;
const LEAF_FREE_COUNT: usize = 12;
const RNG: usize = 16;
const DIMENSIONS: usize = 32;
const LEAF_BASE: usize = 36;
const QUERY_AT: usize = 40;
const SIDES_AT: usize = 44;
const NAV_AT: usize = 48;
const BOXES_AT: usize = 52;
const LEAF_POINTS_AT: usize = 56;
const LEAF_PARENT_AT: usize = 60;
const INTERNAL_FREE_AT: usize = 64;
const LEAF_FREE_AT: usize = 68;

const NONE: i32 = -1;

// Offsets inside a 32-byte nav record.
const MASS_LEFT: usize = 8;
const LEFT: usize = 16;
const RIGHT: usize = 20;
const CUT_DIM: usize = 24;
const PARENT: usize = 28;

// The tree being worked on, loaded from its header by `bind` at the start of every exported call.
let header: usize = 0;
let d: i32 = 0;
let leafBase: i32 = 0;
let boxStride: usize = 0;
let pointStride: usize = 0;
/** The point being inserted or scored: the header's query point, unless the call names one (changeAt, addCoDisp). */
let pointAt: usize = 0;
let sidesAt: usize = 0;
let navAt: usize = 0;
let boxesAt: usize = 0;
let leafPointsAt: usize = 0;
let leafParentAt: usize = 0;
let internalFreeAt: usize = 0;
let leafFreeAt: usize = 0;
/** Where `measureBox` leaves the box's range sum. */
let boxRange: f64 = 0;
/** Where `prefetch` sums what it reads. */
let prefetched: f64 = 0;

function bind(tree: usize): void {
  header = tree;
  d = load<i32>(tree, DIMENSIONS);
  leafBase = load<i32>(tree, LEAF_BASE);
  boxStride = <usize>d << 4;
  pointStride = <usize>d << 3;
  pointAt = load<u32>(tree, QUERY_AT);
  sidesAt = load<u32>(tree, SIDES_AT);
  navAt = load<u32>(tree, NAV_AT);
  boxesAt = load<u32>(tree, BOXES_AT);
  leafPointsAt = load<u32>(tree, LEAF_POINTS_AT);
  leafParentAt = load<u32>(tree, LEAF_PARENT_AT);
  internalFreeAt = load<u32>(tree, INTERNAL_FREE_AT);
  leafFreeAt = load<u32>(tree, LEAF_FREE_AT);
}

@inline function navOf(node: i32): usize {
  return navAt + (<usize>node << 5);
}

@inline function boxOf(node: i32): usize {
  return boxesAt + <usize>node * boxStride;
}

@inline function leafPointOf(leaf: i32): usize {
  return leafPointsAt + <usize>(leaf - leafBase) * pointStride;
}

@inline function coordinate(j: i32): f64 {
  return load<f64>(pointAt + (<usize>j << 3));
}

/** xoshiro128** step, identical to SeededRandom.next(): uniform in [0, 1) with 32 bits. */
function nextUnit(): f64 {
  const state = header + RNG;
  const s0 = load<u32>(state);
  const s1 = load<u32>(state, 4);
  const s2 = load<u32>(state, 8);
  const s3 = load<u32>(state, 12);
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const n2 = s2 ^ s0;
  const n3 = s3 ^ s1;
  store<u32>(state, s0 ^ n3);
  store<u32>(state, s1 ^ n2, 4);
  store<u32>(state, n2 ^ (s1 << 9), 8);
  store<u32>(state, rotl<u32>(n3, 11), 12);
  return <f64>result * 2.3283064365386963e-10;
}

/**
 * Twice the point's distance outside the box at `box`; the box's range sum goes to `boxRange`. Two
 * dimensions per step (the sums still run in dimension order, so bit for bit what one per step gives).
 */
@inline function measureBox(box: usize): f64 {
  let twice: f64 = 0;
  let sum: f64 = 0;
  let p = pointAt;
  let b = box;
  const pairsEnd = pointAt + ((<usize>d >> 1) << 4);
  while (p < pairsEnd) {
    const x0 = load<f64>(p);
    const x1 = load<f64>(p, 8);
    const lo0 = load<f64>(b);
    const hi0 = load<f64>(b, 8);
    const lo1 = load<f64>(b, 16);
    const hi1 = load<f64>(b, 24);
    const below0 = lo0 - x0;
    const above0 = x0 - hi0;
    const below1 = lo1 - x1;
    const above1 = x1 - hi1;
    twice += below0 + abs<f64>(below0) + (above0 + abs<f64>(above0));
    twice += below1 + abs<f64>(below1) + (above1 + abs<f64>(above1));
    sum += hi0 - lo0;
    sum += hi1 - lo1;
    p += 16;
    b += 32;
  }
  if (d & 1) {
    const x = load<f64>(p);
    const lo = load<f64>(b);
    const hi = load<f64>(b, 8);
    const below = lo - x;
    const above = x - hi;
    twice += below + abs<f64>(below) + (above + abs<f64>(above));
    sum += hi - lo;
  }
  boxRange = sum;
  return twice;
}

@inline function distanceToLeaf(leaf: i32): f64 {
  const q = leafPointOf(leaf);
  let sum: f64 = 0;
  for (let j = 0; j < d; j++) sum += abs<f64>(coordinate(j) - load<f64>(q + (<usize>j << 3)));
  return sum;
}

/** Inserts the tree's query point; returns its leaf. tree.ts `insert` explains the steps. */
export function insert(tree: usize): i32 {
  bind(tree);
  return insertQuery();
}

function insertQuery(): i32 {
  if (load<i32>(header, ROOT) == NONE) {
    const leaf = newLeaf(NONE);
    store<i32>(header + ROOT, leaf);
    store<i32>(header + SIZE, 1);
    return leaf;
  }
  let node = load<i32>(header, ROOT);
  let mass = load<i32>(header, SIZE);
  store<i32>(header + SIZE, mass + 1);
  while (node < leafBase) {
    const box = boxOf(node);
    const outside = measureBox(box) * 0.5;
    if (outside > 0) {
      const u = nextUnit() * (boxRange + outside);
      if (u < outside) return splitAbove(node, mass, u);
      let p = pointAt;
      const end = pointAt + pointStride;
      for (let b = box; p < end; p += 8, b += 16) {
        const x = load<f64>(p);
        if (x < load<f64>(b)) store<f64>(b, x);
        else if (x > load<f64>(b, 8)) store<f64>(b, x, 8);
      }
    }
    const n = navOf(node);
    const right = <usize>(coordinate(load<i32>(n, CUT_DIM)) > load<f64>(n));
    const slot = n + (right << 2);
    mass = load<i32>(slot, MASS_LEFT);
    store<i32>(slot, mass + 1, MASS_LEFT);
    node = load<i32>(slot, LEFT);
  }
  const outside = distanceToLeaf(node);
  if (outside == 0) return node;
  const u = nextUnit() * outside;
  return splitAbove(node, mass, u < outside ? u : 0);
}

/** Removes one copy of a leaf's point (tree.ts `delete`). */
export function remove(tree: usize, leaf: i32): void {
  bind(tree);
  removeLeaf(leaf);
}

/** Removes one copy of `leaf`'s point, then inserts the query point: a full reservoir's swap, in one call. */
export function replace(tree: usize, leaf: i32): i32 {
  bind(tree);
  removeLeaf(leaf);
  return insertQuery();
}

function removeLeaf(leaf: i32): void {
  const up = load<i32>(leafParentAt + (<usize>(leaf - leafBase) << 2));
  const size = load<i32>(header, SIZE) - 1;
  store<i32>(header + SIZE, size);
  if (up == NONE) {
    if (size == 0) {
      releaseLeaf(leaf);
      store<i32>(header + ROOT, NONE);
    }
    return;
  }
  const u = navOf(up);
  const fromLeft = load<i32>(u, LEFT) == leaf;
  if (load<i32>(u + (fromLeft ? 0 : 4), MASS_LEFT) > 1) {
    uncount(leaf, up);
    return;
  }
  const sibling = load<i32>(u + (fromLeft ? 4 : 0), LEFT);
  const siblingMass = load<i32>(u + (fromLeft ? 4 : 0), MASS_LEFT);
  const grand = load<i32>(u, PARENT);
  setParent(sibling, grand);
  releaseLeaf(leaf);
  releaseInternal(up);
  if (grand == NONE) {
    store<i32>(header + ROOT, sibling);
    return;
  }
  const g = navOf(grand);
  const slot = g + (load<i32>(g, LEFT) == up ? 0 : 4);
  store<i32>(slot, sibling, LEFT);
  store<i32>(slot, siblingMass, MASS_LEFT);
  // The freed leaf's slot still holds the point.
  const point = leafPointOf(leaf);
  let count = 0;
  const sides2 = d << 1;
  for (let k = 0, b = boxOf(grand); k < sides2; k++) {
    store<i32>(sidesAt + (<usize>count << 2), k);
    count += <i32>(load<f64>(b + (<usize>k << 3)) == load<f64>(point + (<usize>(k >> 1) << 3)));
  }
  let node = grand;
  for (;;) {
    count = refitSides(node, point, count);
    if (count == 0) break;
    const above = load<i32>(navOf(node), PARENT);
    if (above == NONE) return;
    const a = navOf(above);
    const aSlot = a + (load<i32>(a, LEFT) != node ? 4 : 0);
    store<i32>(aSlot, load<i32>(aSlot, MASS_LEFT) - 1, MASS_LEFT);
    node = above;
    let kept = 0;
    const b = boxOf(node);
    for (let i = 0; i < count; i++) {
      const k = load<i32>(sidesAt + (<usize>i << 2));
      store<i32>(sidesAt + (<usize>kept << 2), k);
      kept += <i32>(load<f64>(b + (<usize>k << 3)) == load<f64>(point + (<usize>(k >> 1) << 3)));
    }
    count = kept;
  }
  uncount(node, load<i32>(navOf(node), PARENT));
}

function uncount(child: i32, parent: i32): void {
  let node = child;
  let up = parent;
  while (up != NONE) {
    const a = navOf(up);
    const slot = a + (load<i32>(a, LEFT) != node ? 4 : 0);
    store<i32>(slot, load<i32>(slot, MASS_LEFT) - 1, MASS_LEFT);
    node = up;
    up = load<i32>(a, PARENT);
  }
}

@inline function sideOf(id: i32, k: i32): f64 {
  return id >= leafBase
    ? load<f64>(leafPointOf(id) + (<usize>(k >> 1) << 3))
    : load<f64>(boxOf(id) + (<usize>k << 3));
}

function refitSides(node: i32, point: usize, count: i32): i32 {
  const n = navOf(node);
  const left = load<i32>(n, LEFT);
  const right = load<i32>(n, RIGHT);
  const b = boxOf(node);
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const k = load<i32>(sidesAt + (<usize>i << 2));
    const x = load<f64>(point + (<usize>(k >> 1) << 3));
    const l = sideOf(left, k);
    const r = sideOf(right, k);
    const side = (k & 1) == 0 ? min<f64>(l, r) : max<f64>(l, r);
    if (side != x) {
      store<f64>(b + (<usize>k << 3), side);
      store<i32>(sidesAt + (<usize>kept << 2), k);
      kept++;
    }
  }
  return kept;
}

/** Expected CoDisp of the tree's query point, which is not in the tree (tree.ts `expectedCoDisp`). */
export function expectedCoDisp(tree: usize): f64 {
  bind(tree);
  return coDispOfPoint();
}

/**
 * Adds the expected CoDisp of each of `count` points, d doubles apart from `points`, to the double at the
 * same index from `sums`: one tree's share of a run of scores (forest.ts, tree by tree).
 */
export function addCoDisp(tree: usize, points: usize, count: i32, sums: usize): void {
  bind(tree);
  for (let k = 0; k < count; k++) {
    pointAt = points + <usize>k * pointStride;
    const sum = sums + (<usize>k << 3);
    store<f64>(sum, load<f64>(sum) + coDispOfPoint());
  }
}

/** Removes one copy of `leaf` unless it is NONE, then inserts the point at `point` (d doubles); returns its leaf. */
export function changeAt(tree: usize, leaf: i32, point: usize): i32 {
  bind(tree);
  pointAt = point;
  if (leaf != NONE) removeLeaf(leaf);
  return insertQuery();
}

function coDispOfPoint(): f64 {
  let node = load<i32>(header, ROOT);
  if (node == NONE) return 0;
  let nodeMass = <f64>load<i32>(header, SIZE);
  let siblingMass: f64 = 0;
  let reach: f64 = 1;
  let colluderMax: f64 = 0;
  let expected: f64 = 0;
  while (node < leafBase) {
    const outside = measureBox(boxOf(node)) * 0.5;
    const ratio = siblingMass / (nodeMass + 1);
    if (ratio > colluderMax) colluderMax = ratio;
    if (outside > 0) {
      const pSplit = outside / (boxRange + outside);
      expected += reach * pSplit * max<f64>(nodeMass, colluderMax);
      reach *= 1 - pSplit;
    }
    const n = navOf(node);
    const right = <usize>(coordinate(load<i32>(n, CUT_DIM)) > load<f64>(n));
    nodeMass = <f64>load<i32>(n + (right << 2), MASS_LEFT);
    siblingMass = <f64>load<i32>(n + ((1 - right) << 2), MASS_LEFT);
    node = load<i32>(n + (right << 2), LEFT);
  }
  const ratio = siblingMass / (nodeMass + 1);
  if (ratio > colluderMax) colluderMax = ratio;
  return distanceToLeaf(node) > 0
    ? expected + reach * max<f64>(nodeMass, colluderMax)
    : expected + reach * colluderMax;
}

/** Σ of the expected CoDisp over `count` trees laid out `stride` bytes apart from `first`, in order. */
export function sumCoDisp(first: usize, count: i32, stride: usize): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < count; i++) sum += expectedCoDisp(first + <usize>i * stride);
  return sum;
}

function splitAbove(node: i32, nodeMass: i32, offset: f64): i32 {
  const leaf = node >= leafBase;
  const base = leaf ? leafPointOf(node) : boxOf(node);
  const step: usize = leaf ? 8 : 16;
  const upper: usize = leaf ? 0 : 8;
  let dim = -1;
  let cut: f64 = 0;
  let rest = offset;
  for (let j = 0; j < d; j++) {
    const x = coordinate(j);
    const s = base + <usize>j * step;
    const l = load<f64>(s);
    const h = load<f64>(s + upper);
    const gap = x < l ? l - x : x > h ? x - h : 0;
    if (gap <= 0) continue;
    dim = j;
    if (rest < gap) {
      cut = x < l ? x + rest : h + rest;
      break;
    }
    rest -= gap;
  }
  // The caller saw the point outside the box, so some dimension has a gap.
  if (dim < 0) unreachable();
  const x = coordinate(dim);
  const l = load<f64>(base + <usize>dim * step);
  const h = load<f64>(base + <usize>dim * step + upper);
  if (x < l) {
    if (!(cut >= x && cut < l)) cut = x;
  } else if (!(cut >= h && cut < x)) cut = h;

  const above = parentOf(node);
  const branch = allocateInternal();
  const fresh = newLeaf(branch);
  const box = boxOf(branch);
  for (let j = 0; j < d; j++) {
    const p = coordinate(j);
    const s = base + <usize>j * step;
    store<f64>(box + (<usize>j << 4), min<f64>(p, load<f64>(s)));
    store<f64>(box + (<usize>j << 4), max<f64>(p, load<f64>(s + upper)), 8);
  }
  const b = navOf(branch);
  store<f64>(b, cut);
  store<i32>(b, dim, CUT_DIM);
  store<i32>(b, above, PARENT);
  const newOnLeft = coordinate(dim) <= cut;
  store<i32>(b, newOnLeft ? fresh : node, LEFT);
  store<i32>(b, newOnLeft ? 1 : nodeMass, MASS_LEFT);
  store<i32>(b, newOnLeft ? node : fresh, RIGHT);
  store<i32>(b, newOnLeft ? nodeMass : 1, MASS_LEFT + 4);
  if (above == NONE) store<i32>(header + ROOT, branch);
  else {
    const a = navOf(above);
    store<i32>(a + (load<i32>(a, LEFT) == node ? 0 : 4), branch, LEFT);
  }
  setParent(node, branch);
  return fresh;
}

@inline function parentOf(id: i32): i32 {
  return id >= leafBase
    ? load<i32>(leafParentAt + (<usize>(id - leafBase) << 2))
    : load<i32>(navOf(id), PARENT);
}

@inline function setParent(id: i32, parent: i32): void {
  if (id >= leafBase) store<i32>(leafParentAt + (<usize>(id - leafBase) << 2), parent);
  else store<i32>(navOf(id), parent, PARENT);
}

// tree.ts checks before each insert that both pools have room, so these pops cannot underflow.
function allocateInternal(): i32 {
  const count = load<i32>(header, INTERNAL_FREE_COUNT) - 1;
  store<i32>(header + INTERNAL_FREE_COUNT, count);
  return load<i32>(internalFreeAt + (<usize>count << 2));
}

function newLeaf(parent: i32): i32 {
  const count = load<i32>(header, LEAF_FREE_COUNT) - 1;
  store<i32>(header + LEAF_FREE_COUNT, count);
  const leaf = load<i32>(leafFreeAt + (<usize>count << 2));
  // Moves, not memory.copy: V8 compiles memory.copy to a call out of the WebAssembly code.
  const to = leafPointOf(leaf);
  for (let j: usize = 0; j < pointStride; j += 8) store<f64>(to + j, load<f64>(pointAt + j));
  store<i32>(leafParentAt + (<usize>(leaf - leafBase) << 2), parent);
  return leaf;
}

function releaseLeaf(leaf: i32): void {
  store<i32>(leafParentAt + (<usize>(leaf - leafBase) << 2), NONE);
  const count = load<i32>(header, LEAF_FREE_COUNT);
  store<i32>(leafFreeAt + (<usize>count << 2), leaf);
  store<i32>(header + LEAF_FREE_COUNT, count + 1);
}

/** Frees an internal node; its links are cleared so a snapshot holds no stale ids (its numbers stay). */
function releaseInternal(node: i32): void {
  const n = navOf(node);
  store<i32>(n, 0, MASS_LEFT);
  store<i32>(n, 0, MASS_LEFT + 4);
  store<i32>(n, NONE, LEFT);
  store<i32>(n, NONE, RIGHT);
  store<i32>(n, NONE, CUT_DIM);
  store<i32>(n, NONE, PARENT);
  const count = load<i32>(header, INTERNAL_FREE_COUNT);
  store<i32>(internalFreeAt + (<usize>count << 2), node);
  store<i32>(header + INTERNAL_FREE_COUNT, count + 1);
}

/**
 * The changes one update makes to several trees of an arena, in one call. `list` holds `count` records of
 * 16 bytes: the tree's header, the leaf to delete first (NONE to only insert), then two slots this fills,
 * the first with the query point's new leaf. Each tree makes the same PRNG draws, in the same order, as
 * its own `replace` or `insert` call would.
 *
 * A forest's nodes are mostly out of cache (100 × 256 is 6 MB), and each tree's walk is a chain of
 * dependent loads, so changing the trees one after another waits for one miss at a time. `prefetch` first
 * makes the trees' walks side by side, a level of every tree per round, so the misses of different trees
 * overlap; the changes then find most of their nodes in cache.
 */
export function changeBatch(list: usize, count: i32): void {
  const end = list + (<usize>count << 4);
  if (count > 1) prefetch(list, end);
  for (let r = list; r < end; r += 16) {
    bind(load<i32>(r));
    const leaf = load<i32>(r, 4);
    if (leaf != NONE) removeLeaf(leaf);
    store<i32>(r, insertQuery(), 8);
  }
}

// prefetch's scratch slots in a record: where the tree's walk up and its walk down have got to.
const WALK_UP: usize = 8;
const WALK_DOWN: usize = 12;
// The levels above a deleted leaf whose boxes prefetch reads: a delete refits ~4.6 levels on average, then only
// decrements masses up to the root.
const REFIT_LEVELS = 4;

/**
 * Reads, without changing anything, what the records' changes will read: the delete's walk from the leaf up
 * to the root (each node's record, and for the first REFIT_LEVELS its box and its children's boxes or
 * points, which the refit compares) and the insert's walk down from the root along the query point's cuts (each node's record and box, and
 * the leaf it ends at; the insert stops there or above). What is read is summed into a global so that the
 * engine keeps the loads. Binds no tree: the globals `bind` sets belong to one tree.
 */
function prefetch(list: usize, end: usize): void {
  let sum: f64 = 0;
  for (let r = list; r < end; r += 16) {
    const tree = <usize>load<i32>(r);
    const leaf = load<i32>(r, 4);
    let up = NONE;
    if (leaf != NONE) {
      const base = load<i32>(tree, LEAF_BASE);
      up = load<i32>(load<u32>(tree, LEAF_PARENT_AT) + (<usize>(leaf - base) << 2));
      sum += peek(tree, base, leaf);
    }
    store<i32>(r, up, WALK_UP);
    store<i32>(r, load<i32>(tree, ROOT), WALK_DOWN);
  }
  const query = <usize>load<u32>(<usize>load<i32>(list), QUERY_AT);
  let walking = true;
  for (let round = 0; walking; round++) {
    walking = false;
    for (let r = list; r < end; r += 16) {
      const tree = <usize>load<i32>(r);
      const base = load<i32>(tree, LEAF_BASE);
      const nav = <usize>load<u32>(tree, NAV_AT);
      const up = load<i32>(r, WALK_UP);
      if (up != NONE) {
        const u = nav + (<usize>up << 5);
        if (round < REFIT_LEVELS) {
          sum += peek(tree, base, up) + peek(tree, base, load<i32>(u, LEFT)) + peek(tree, base, load<i32>(u, RIGHT));
        }
        store<i32>(r, load<i32>(u, PARENT), WALK_UP);
        walking = true;
      }
      const down = load<i32>(r, WALK_DOWN);
      if (down == NONE || down >= base) continue;
      const n = nav + (<usize>down << 5);
      sum += peek(tree, base, down);
      const right = <usize>(load<f64>(query + (<usize>load<i32>(n, CUT_DIM) << 3)) > load<f64>(n));
      const next = load<i32>(n + (right << 2), LEFT);
      store<i32>(r, next, WALK_DOWN);
      if (next < base) walking = true;
      else sum += peek(tree, base, next);
    }
  }
  prefetched += sum;
}

/** The first and last value of a node's box (its two cache lines when d > 4), or a leaf's first coordinate. */
@inline function peek(tree: usize, base: i32, id: i32): f64 {
  const boxStride = <usize>load<i32>(tree, DIMENSIONS) << 4;
  if (id >= base) return load<f64>(<usize>load<u32>(tree, LEAF_POINTS_AT) + <usize>(id - base) * (boxStride >> 1));
  const box = <usize>load<u32>(tree, BOXES_AT) + <usize>id * boxStride;
  return load<f64>(box) + load<f64>(box + boxStride - 8);
}
