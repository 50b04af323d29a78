import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quantile } from 'simple-statistics';
import { SnapshotError } from '../../consumers/contract/errors.ts';
import { RandomCutForest, STAGED_POINTS } from '../../models/rcf/forest.ts';
import { SeededRandom } from '../../models/rcf/random.ts';
import { TimeDecaySampler } from '../../models/rcf/sampler.ts';
import {
  deserializeForest,
  type ForestSnapshot,
  restoreForest,
  serializeForest,
  snapshotForest,
} from '../../models/rcf/serialize.ts';
import { Shingle, shingleSeries } from '../../models/rcf/shingle.ts';
import { RandomCutTree, TreeArena } from '../../models/rcf/tree.ts';

const small = { num_trees: 8, num_samples_per_tree: 32 } as const;

/** Points of a given dimension with bounded, finite coordinates (including duplicates and zeros). */
function pointsOf(dim: number, minLength: number, maxLength: number) {
  return fc.array(
    fc.array(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })), {
      minLength: dim,
      maxLength: dim,
    }),
    { minLength, maxLength },
  );
}

/**
 * A straightforward robust random cut tree on plain objects, the model the optimized tree must match. It
 * stores only the shape, the cuts and the leaves; every box and mass is recomputed from the leaves when it is
 * needed, so there is no bookkeeping to get wrong. Insertion follows the paper with the same random draws and
 * the same arithmetic as tree.ts, so the two must agree exactly.
 */
type RefNode = RefLeaf | RefBranch;
interface RefLeaf {
  leaf: true;
  point: number[];
  count: number;
  parent: RefBranch | undefined;
}
interface RefBranch {
  leaf: false;
  dim: number;
  cut: number;
  left: RefNode;
  right: RefNode;
  parent: RefBranch | undefined;
}

function refBox(node: RefNode): { lo: number[]; hi: number[] } {
  if (node.leaf) return { lo: [...node.point], hi: [...node.point] };
  const a = refBox(node.left);
  const b = refBox(node.right);
  return { lo: a.lo.map((v, j) => Math.min(v, b.lo[j]!)), hi: a.hi.map((v, j) => Math.max(v, b.hi[j]!)) };
}

function refMass(node: RefNode): number {
  return node.leaf ? node.count : refMass(node.left) + refMass(node.right);
}

/** Σ of p's gaps outside the box, and the box's range sum, each summed in dimension order. */
function refMeasure(
  p: ArrayLike<number>,
  box: { lo: number[]; hi: number[] },
): { outside: number; range: number } {
  let twice = 0;
  let range = 0;
  box.lo.forEach((lo, j) => {
    const hi = box.hi[j]!;
    const below = lo - p[j]!;
    const above = p[j]! - hi;
    twice += below + Math.abs(below) + (above + Math.abs(above));
    range += hi - lo;
  });
  return { outside: twice * 0.5, range };
}

class ReferenceTree {
  root: RefNode | undefined;
  constructor(readonly rng: SeededRandom) {}

  insert(p: number[]): RefLeaf {
    if (this.root === undefined) {
      const leaf: RefLeaf = { leaf: true, point: [...p], count: 1, parent: undefined };
      this.root = leaf;
      return leaf;
    }
    let node: RefNode = this.root;
    for (;;) {
      const box = refBox(node);
      const { outside, range } = refMeasure(p, box);
      if (node.leaf && outside === 0) {
        node.count++;
        return node;
      }
      if (outside > 0) {
        const u = this.rng.next() * (range + outside);
        if (u < outside || node.leaf) return this.splitAbove(node, p, box, u < outside ? u : 0);
      }
      if (node.leaf) throw new Error('unreachable');
      node = p[node.dim]! <= node.cut ? node.left : node.right;
    }
  }

  /** New branch above `node` cutting `offset` into the gaps between p and node's box, dimension by dimension. */
  private splitAbove(
    node: RefNode,
    p: number[],
    box: { lo: number[]; hi: number[] },
    offset: number,
  ): RefLeaf {
    let dim = -1;
    let cut = 0;
    let rest = offset;
    for (let j = 0; j < p.length; j++) {
      const [x, l, h] = [p[j]!, box.lo[j]!, box.hi[j]!];
      const gap = x < l ? l - x : x > h ? x - h : 0;
      if (gap <= 0) continue;
      dim = j;
      if (rest < gap) {
        cut = x < l ? x + rest : h + rest;
        break;
      }
      rest -= gap;
    }
    const [x, l, h] = [p[dim]!, box.lo[dim]!, box.hi[dim]!];
    if (x < l) {
      if (!(cut >= x && cut < l)) cut = x;
    } else if (!(cut >= h && cut < x)) cut = h;
    const leaf: RefLeaf = { leaf: true, point: [...p], count: 1, parent: undefined };
    const above = node.parent;
    const branch: RefBranch = {
      leaf: false,
      dim,
      cut,
      left: x <= cut ? leaf : node,
      right: x <= cut ? node : leaf,
      parent: above,
    };
    if (above === undefined) this.root = branch;
    else if (above.left === node) above.left = branch;
    else above.right = branch;
    node.parent = branch;
    leaf.parent = branch;
    return leaf;
  }

  delete(leaf: RefLeaf): void {
    if (leaf.count > 1) {
      leaf.count--;
      return;
    }
    const up = leaf.parent;
    if (up === undefined) {
      this.root = undefined;
      return;
    }
    const sibling = up.left === leaf ? up.right : up.left;
    sibling.parent = up.parent;
    if (up.parent === undefined) this.root = sibling;
    else if (up.parent.left === up) up.parent.left = sibling;
    else up.parent.right = sibling;
  }

  /** The expected CoDisp of tree.ts, evaluated plainly on recomputed boxes and masses. */
  expectedCoDisp(x: ArrayLike<number>): number {
    if (this.root === undefined) return 0;
    let node: RefNode = this.root;
    let sibling: RefNode | undefined;
    let reach = 1;
    let colluderMax = 0;
    let expected = 0;
    for (;;) {
      const { outside, range } = refMeasure(x, refBox(node));
      const mass = refMass(node);
      const ratio = sibling === undefined ? 0 : refMass(sibling) / (mass + 1);
      if (ratio > colluderMax) colluderMax = ratio;
      if (node.leaf)
        return outside > 0 ? expected + reach * Math.max(mass, colluderMax) : expected + reach * colluderMax;
      if (outside > 0) {
        const pSplit = outside / (range + outside);
        expected += reach * pSplit * Math.max(mass, colluderMax);
        reach *= 1 - pSplit;
      }
      const goLeft = x[node.dim]! <= node.cut;
      sibling = goLeft ? node.right : node.left;
      node = goLeft ? node.left : node.right;
    }
  }
}

/** Asserts that the optimized tree is the reference tree: shape, cuts, points, boxes, masses and links. */
function assertSameTree(tree: RandomCutTree, reference: ReferenceTree): void {
  const d = tree.dimensions;
  const same = (id: number, node: RefNode, parent: number): void => {
    assert.equal(tree.parentOf(id), parent, `parent link of ${id}`);
    assert.equal(tree.isLeaf(id), node.leaf, `node ${id} is a leaf in one tree only`);
    assert.equal(tree.massOf(id), refMass(node), `mass of ${id}`);
    const box = refBox(node);
    for (let j = 0; j < d; j++) {
      assert.ok(
        tree.lowerOf(id, j) === box.lo[j] && tree.upperOf(id, j) === box.hi[j],
        `box of ${id}, dim ${j}`,
      );
    }
    if (node.leaf) return;
    assert.equal(tree.cutDimOf(id), node.dim);
    assert.equal(tree.cutValueOf(id), node.cut);
    assert.ok(refBox(node.left).hi[node.dim]! <= node.cut, 'left lies at or below the cut');
    assert.ok(refBox(node.right).lo[node.dim]! > node.cut, 'right lies above the cut');
    same(tree.leftOf(id), node.left, id);
    same(tree.rightOf(id), node.right, id);
  };
  if (reference.root === undefined) assert.equal(tree.root, -1);
  else same(tree.root, reference.root, -1);
  assert.equal(tree.size, reference.root === undefined ? 0 : refMass(reference.root));
}

describe('random cut tree', () => {
  it('matches a straightforward reference through any sequence of inserts and deletes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.boolean(),
        (dim, seed, ops, fractional) => {
          const capacity = 16;
          const tree = new RandomCutTree(dim, capacity);
          const reference = new ReferenceTree(SeededRandom.fromSeed(seed));
          const rng = SeededRandom.fromSeed(seed);
          const sampled: { id: number; ref: RefLeaf }[] = [];
          for (const op of ops) {
            // Small integer coordinates make duplicates common, which exercises leaf masses; halves add
            // points strictly between others.
            const p = Array.from(
              { length: dim },
              (_, j) => ((op >> (2 * j)) % 4) - 1 + (fractional ? 0.5 * (op % 2) : 0),
            );
            if (sampled.length < capacity && (op % 3 !== 0 || sampled.length === 0)) {
              sampled.push({ id: tree.insert(Float64Array.from(p), rng), ref: reference.insert(p) });
            } else if (sampled.length === capacity && op % 2 === 0) {
              // A full reservoir's swap: delete and insert in one kernel call.
              const [gone] = sampled.splice(op % sampled.length, 1);
              reference.delete(gone!.ref);
              sampled.push({
                id: tree.replace(gone!.id, Float64Array.from(p), rng),
                ref: reference.insert(p),
              });
            } else {
              const [gone] = sampled.splice(op % sampled.length, 1);
              tree.delete(gone!.id);
              reference.delete(gone!.ref);
            }
            assertSameTree(tree, reference);
            const probe = Float64Array.from({ length: dim }, (_, j) => ((op >> j) % 5) - 2.5);
            assert.equal(tree.expectedCoDisp(probe), reference.expectedCoDisp(probe));
          }
          // Each sampled entry is one unit of its leaf's mass, and the pools survive a restore (which checks them).
          for (const { id } of sampled) {
            assert.equal(tree.massOf(id), sampled.filter((s) => s.id === id).length);
          }
          assert.doesNotThrow(() => new RandomCutTree(dim, capacity, tree.clone().state()));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('trees sharing an arena evolve exactly as trees alone', () => {
    const dim = 3;
    const arena = new TreeArena(dim, 32, 2);
    const shared = [
      new RandomCutTree(dim, 32, undefined, arena),
      new RandomCutTree(dim, 32, undefined, arena),
    ];
    const alone = [new RandomCutTree(dim, 32), new RandomCutTree(dim, 32)];
    const rngs = [1, 2, 1, 2].map((seed) => SeededRandom.fromSeed(seed));
    const leaves: number[][] = [[], []];
    for (let i = 0; i < 200; i++) {
      for (const t of [0, 1]) {
        // The shared tree gets its point through the arena's query buffer, as the forest writes it.
        arena.query.set([Math.sin(i + t), Math.cos(i * 0.7), (i % 7) - t]);
        const point = Float64Array.from(arena.query);
        const full = leaves[t]!.length === 32;
        const gone = full ? leaves[t]!.shift()! : undefined;
        const a =
          gone === undefined
            ? shared[t]!.insert(arena.query, rngs[t]!)
            : shared[t]!.replace(gone, arena.query, rngs[t]!);
        const b =
          gone === undefined
            ? alone[t]!.insert(point, rngs[t + 2]!)
            : alone[t]!.replace(gone, point, rngs[t + 2]!);
        assert.equal(a, b);
        leaves[t]!.push(a);
      }
    }
    for (const t of [0, 1]) {
      assert.deepEqual(shared[t]!.state(), alone[t]!.state());
      assert.deepEqual(rngs[t]!.state, rngs[t + 2]!.state);
      const probe = Float64Array.from([0.3, -0.2, 9]);
      assert.equal(shared[t]!.expectedCoDisp(probe), alone[t]!.expectedCoDisp(probe));
    }
    assert.throws(() => new RandomCutTree(dim, 32, undefined, arena), /holds only 2 trees/);
    assert.throws(
      () => new RandomCutTree(dim + 1, 32, undefined, new TreeArena(dim, 32, 1)),
      /another shape/,
    );
  });

  it('refuses to delete what is not a leaf in the tree (the kernel trusts ids)', () => {
    const tree = new RandomCutTree(2, 8);
    const rng = SeededRandom.fromSeed(5);
    const leaf = tree.insert(Float64Array.from([1, 2]), rng);
    tree.insert(Float64Array.from([3, 4]), rng);
    for (const bad of [0, tree.leafBase + 7, -1, 1e6]) {
      assert.throws(() => tree.delete(bad), RangeError);
    }
    tree.delete(leaf);
    assert.throws(() => tree.delete(leaf), RangeError);
    assert.equal(tree.size, 1);
  });

  it('expected CoDisp matches the mean CoDisp over actual random insertions', () => {
    // Oracle: insert x for real with many different random cuts and measure the paper's CoDisp of its leaf.
    const dim = 2;
    const rng = SeededRandom.fromSeed(7);
    const base = new RandomCutTree(dim, 32);
    const data = SeededRandom.fromSeed(8);
    for (let i = 0; i < 20; i++) base.insert(Float64Array.from([data.next() * 10, data.next() * 10]), rng);
    const x = Float64Array.from([7.5, 12]);
    const expected = base.expectedCoDisp(x);
    let sum = 0;
    const runs = 4000;
    for (let r = 0; r < runs; r++) {
      const tree = base.clone();
      let node = tree.insert(x, rng);
      let codisp = 0;
      for (let up = tree.parentOf(node); up >= 0; node = up, up = tree.parentOf(node)) {
        const sibling = tree.leftOf(up) === node ? tree.rightOf(up) : tree.leftOf(up);
        codisp = Math.max(codisp, tree.massOf(sibling) / tree.massOf(node));
      }
      sum += codisp;
    }
    const mean = sum / runs;
    assert.ok(expected > 1, 'the probe point is outside the data, so it displaces something');
    assert.ok(Math.abs(mean - expected) / expected < 0.05, `expected ${expected}, simulated ${mean}`);
  });
});

describe('random cut forest', () => {
  it('scores are finite and non-negative for any input', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 3 })
          .chain((dim) => fc.tuple(fc.constant(dim), pointsOf(dim, 1, 80), pointsOf(dim, 1, 10), fc.nat())),
        ([dim, train, probes, seed]) => {
          const forest = new RandomCutForest({ ...small, feature_dim: dim, seed });
          for (const p of train) {
            const s = forest.scoreThenUpdate(p);
            assert.ok(Number.isFinite(s) && s >= 0, `score ${s}`);
          }
          for (const p of probes) {
            const s = forest.score(p);
            assert.ok(Number.isFinite(s) && s >= 0 && s <= small.num_samples_per_tree, `score ${s}`);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('is deterministic for a seed', () => {
    fc.assert(
      fc.property(pointsOf(2, 1, 120), fc.nat(), (points, seed) => {
        const a = new RandomCutForest({ ...small, feature_dim: 2, seed });
        const b = new RandomCutForest({ ...small, feature_dim: 2, seed });
        const sa = points.map((p) => a.scoreThenUpdate(p));
        const sb = points.map((p) => b.scoreThenUpdate(p));
        assert.deepEqual(sa, sb);
        assert.equal(serializeForest(a), serializeForest(b));
      }),
      { numRuns: 25 },
    );
  });

  it('an update changes its trees in one batch exactly as tree by tree', () => {
    // The update as the trees' own replace and insert would make it, one tree after another.
    const treeByTree = (forest: RandomCutForest, values: number[]): void => {
      const point = Float64Array.from(values);
      const t = forest.updates++;
      const decay = forest.params.time_decay;
      forest.trees.forEach((tree, i) => {
        if (t < forest.nextAcceptAt[i]!) return;
        const sampler = forest.samplers[i]!;
        const rng = forest.rngs[i]!;
        if (sampler.isFull) {
          const priority = TimeDecaySampler.drawAcceptedPriority(rng, decay, sampler.worstPriority, t);
          sampler.replaceWorst(priority, tree.replace(sampler.worstLeaf, point, rng));
        } else sampler.add(TimeDecaySampler.drawPriority(rng, decay, t), tree.insert(point, rng));
        forest.nextAcceptAt[i] = sampler.isFull
          ? t + TimeDecaySampler.drawGap(rng, decay, sampler.worstPriority, t, Math.expm1(decay))
          : t + 1;
      });
    };
    fc.assert(
      fc.property(
        // More points than a reservoir holds, so full reservoirs swap points too.
        pointsOf(2, 40, 150),
        fc.nat(),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (points, seed, decay) => {
          const params = { ...small, feature_dim: 2, seed, time_decay: decay };
          const batched = new RandomCutForest(params);
          const reference = new RandomCutForest(params);
          for (const p of points) {
            batched.update(p);
            treeByTree(reference, p);
          }
          assert.equal(serializeForest(batched), serializeForest(reference));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('the tree-by-tree calls give the scores and the forest of one point at a time', () => {
    fc.assert(
      fc.property(
        pointsOf(2, 1, 150),
        fc.array(fc.nat({ max: 150 }), { maxLength: 4 }),
        fc.nat(),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (points, cuts, seed, decay) => {
          const params = { ...small, feature_dim: 2, seed, time_decay: decay };
          const one = new RandomCutForest(params);
          const all = new RandomCutForest(params);
          // Several calls of any length, including empty ones, pick up where the last one stopped.
          const bounds = [
            0,
            ...cuts.map((c) => Math.min(c, points.length)).sort((a, b) => a - b),
            points.length,
          ];
          for (let c = 0; c + 1 < bounds.length; c++) {
            const run = points.slice(bounds[c], bounds[c + 1]);
            const probes = run.slice(0, 5);
            assert.deepEqual(
              Array.from(all.scoreAll(probes)),
              probes.map((p) => one.score(p)),
            );
            if (c % 2 === 0) {
              assert.deepEqual(
                Array.from(all.scoreThenUpdateAll(run)),
                run.map((p) => one.scoreThenUpdate(p)),
              );
            } else {
              all.updateAll(run);
              for (const p of run) one.update(p);
            }
          }
          assert.equal(serializeForest(all), serializeForest(one));
          assert.equal(all.updates, one.updates);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('the tree-by-tree calls stage long inputs in runs, with the same result', () => {
    const params = { ...small, feature_dim: 1, shingle_size: 1, seed: 5 };
    const series = Array.from({ length: 2 * STAGED_POINTS + 77 }, (_, i) => [
      Math.sin(i / 9) + (i % 13) / 50,
    ]);
    const one = new RandomCutForest(params);
    const all = new RandomCutForest(params);
    assert.deepEqual(
      Array.from(all.scoreThenUpdateAll(series)),
      series.map((p) => one.scoreThenUpdate(p)),
    );
    assert.deepEqual(
      Array.from(all.scoreAll(series)),
      series.map((p) => one.score(p)),
    );
    assert.equal(serializeForest(all), serializeForest(one));
  });

  it('the tree-by-tree calls check every point before changing anything', () => {
    const forest = new RandomCutForest({ ...small, feature_dim: 2 });
    forest.updateAll([[1, 2]]);
    const before = serializeForest(forest);
    assert.throws(
      () =>
        forest.updateAll([
          [3, 4],
          [5, Number.POSITIVE_INFINITY],
        ]),
      { code: 'MODEL_INPUT_INVALID' },
    );
    assert.throws(() => forest.scoreThenUpdateAll([[3, 4], [5]]), {
      code: 'MODEL_INPUT_INVALID',
      message: 'point 2: expected 2 values per point, got 1',
    });
    assert.equal(serializeForest(forest), before);
    assert.deepEqual(Array.from(forest.scoreAll([])), []);
  });

  it('a different seed gives a different forest', () => {
    const points = Array.from({ length: 200 }, (_, i) => [Math.sin(i), Math.cos(i / 3)]);
    const a = new RandomCutForest({ ...small, feature_dim: 2, seed: 1 });
    const b = new RandomCutForest({ ...small, feature_dim: 2, seed: 2 });
    for (const p of points) {
      a.update(p);
      b.update(p);
    }
    assert.notEqual(a.score([0.5, 0.5]), b.score([0.5, 0.5]));
  });

  it('serialization round-trip gives identical scores, now and after further updates', () => {
    fc.assert(
      fc.property(
        pointsOf(2, 1, 100),
        pointsOf(2, 1, 60),
        fc.nat(),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        (before, after, seed, decay) => {
          const original = new RandomCutForest({ ...small, feature_dim: 2, seed, time_decay: decay });
          for (const p of before) original.update(p);
          const restored = deserializeForest(serializeForest(original));
          assert.deepEqual(restored.params, original.params);
          for (const p of after) {
            assert.equal(restored.score(p), original.score(p));
            restored.update(p);
            original.update(p);
          }
          assert.equal(serializeForest(restored), serializeForest(original));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('reads a version-1 snapshot into the same model', () => {
    // Written by the version-1 code (one node pool per tree), with the scores that code gave then and after
    // further updates: reading it must give the same forest, not just a similar one.
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/rcf-v1.json', import.meta.url), 'utf8')) as {
      snapshot: ForestSnapshot;
      probes: number[][];
      scores: number[];
      further: number[][];
      scoresAfter: number[];
      final: number[];
    };
    assert.equal(fixture.snapshot.version, 1);
    const forest = restoreForest(fixture.snapshot);
    assert.deepEqual(
      fixture.probes.map((p) => forest.score(p)),
      fixture.scores,
    );
    const rewritten = deserializeForest(serializeForest(forest));
    assert.equal(snapshotForest(rewritten).version, 2);
    assert.deepEqual(
      fixture.further.map((p) => {
        rewritten.update(p);
        return forest.scoreThenUpdate(p);
      }),
      fixture.scoresAfter,
    );
    assert.deepEqual(
      fixture.probes.map((p) => forest.score(p)),
      fixture.final,
    );
    assert.deepEqual(
      fixture.probes.map((p) => rewritten.score(p)),
      fixture.final,
    );
  });

  it('an obvious outlier scores above the 99th percentile of its inliers', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 4 }), (seed, dim) => {
        const noise = SeededRandom.fromSeed(seed ^ 0x5eed);
        // Inliers: a unit cube around the origin; the outlier sits 20 units away in every coordinate.
        const inlier = () => Array.from({ length: dim }, () => noise.next() * 2 - 1);
        const forest = new RandomCutForest({
          num_trees: 30,
          num_samples_per_tree: 64,
          feature_dim: dim,
          seed,
        });
        for (let i = 0; i < 300; i++) forest.update(inlier());
        const inlierScores = Array.from({ length: 200 }, () => forest.score(inlier()));
        const outlierScore = forest.score(Array.from({ length: dim }, () => 20));
        assert.ok(
          outlierScore > quantile(inlierScores, 0.99),
          `${outlierScore} vs p99 ${quantile(inlierScores, 0.99)}`,
        );
      }),
      { numRuns: 10 },
    );
  });

  it('shingles a whole series into separate points, oldest record first', () => {
    const points = shingleSeries(
      [
        [1, 10],
        [2, 20],
        [3, 30],
        [4, 40],
      ],
      2,
      3,
    );
    assert.deepEqual(
      points.map((p) => Array.from(p)),
      [
        [1, 10, 2, 20, 3, 30],
        [2, 20, 3, 30, 4, 40],
      ],
    );
    assert.notEqual(points[0]!.buffer, points[1]!.buffer);
    assert.deepEqual(shingleSeries([[1], [2]], 1, 3), []);
  });

  it('a shingled series flags a changed shape that no single value would', () => {
    const forest = new RandomCutForest({ num_trees: 40, num_samples_per_tree: 128, shingle_size: 8 });
    const shingle = new Shingle(1, 8);
    const scores: number[] = [];
    for (let i = 0; i < 3000; i++) {
      // A clean square wave of period 16; at i = 2500 one period is flipped: values stay in range.
      const phase = i % 16 < 8 ? 1 : -1;
      const value = i >= 2500 && i < 2508 ? -phase : phase;
      const point = shingle.push([value]);
      if (point !== undefined) scores.push(forest.scoreThenUpdate(point));
    }
    const normal = scores.slice(2000, 2480);
    const changed = Math.max(...scores.slice(2493, 2510));
    assert.ok(changed > quantile(normal, 0.99), `${changed} vs p99 ${quantile(normal, 0.99)}`);
  });

  it('uniform reservoir (time_decay 0) samples old and new points alike; decay favours new ones', () => {
    const sampledFromFirstHalf = (time_decay: number) => {
      const forest = new RandomCutForest({ num_trees: 50, num_samples_per_tree: 40, time_decay, seed: 3 });
      for (let i = 0; i < 2000; i++) forest.update([i]);
      let first = 0;
      let total = 0;
      forest.samplers.forEach((sampler, t) => {
        for (let k = 0; k < sampler.size; k++) {
          const leaf = sampler.leaf[k]!;
          total++;
          if (forest.trees[t]!.lowerOf(leaf, 0) < 1000) first++;
        }
      });
      assert.equal(total, 50 * 40);
      return first / total;
    };
    // 2000 samples: the standard error of a fair half is about 0.011.
    assert.ok(Math.abs(sampledFromFirstHalf(0) - 0.5) < 0.05);
    assert.ok(sampledFromFirstHalf(1 / 400) < 0.2);
  });

  it('changes about as many trees per update as the time decay implies', () => {
    // With λ = 1 / (10 S) a full reservoir accepts a new point with probability 1 − e^(−c), where c solves
    // Σ_k≥0 (1 − exp(−c·e^(−λk))) = S (each past point is held with that probability): about 0.0975. A sampler
    // that kept accepting (or skipped too much) would change far more (or fewer) trees per update.
    const params = { num_trees: 50, num_samples_per_tree: 64, seed: 5 };
    const forest = new RandomCutForest(params);
    const lambda = forest.params.time_decay;
    const held = (c: number) => {
      let sum = 0;
      for (let k = 0; k < 40 / lambda; k++) sum += 1 - Math.exp(-c * Math.exp(-lambda * k));
      return sum;
    };
    let [lo, hi] = [0, 10];
    for (let i = 0; i < 60; i++)
      [lo, hi] =
        held((lo + hi) / 2) < params.num_samples_per_tree ? [(lo + hi) / 2, hi] : [lo, (lo + hi) / 2];
    const expected = params.num_trees * (1 - Math.exp(-lo));
    const inserts = () => forest.trees.reduce((sum, t) => sum + t.insertions, 0);
    // Past the initial fill, which lasts a few multiples of 1 / λ.
    for (let i = 0; i < 8 / lambda; i++) forest.update([i % 97]);
    const before = inserts();
    const updates = 40_000;
    for (let i = 0; i < updates; i++) forest.update([i % 97]);
    const perUpdate = (inserts() - before) / updates;
    // 40 000 updates × ~4.9 acceptances: the sampling error of the mean is well under 1%.
    assert.ok(
      Math.abs(perUpdate - expected) / expected < 0.03,
      `${perUpdate} per update, expected ${expected}`,
    );
  });

  it('rejects points of the wrong size or with non-finite values', () => {
    const forest = new RandomCutForest({ ...small, feature_dim: 2 });
    assert.throws(() => forest.update([1]), { code: 'MODEL_INPUT_INVALID' });
    assert.throws(() => forest.score([1, Number.NaN]), { code: 'MODEL_INPUT_INVALID' });
  });

  it('refuses corrupted snapshots with a SnapshotError', () => {
    const forest = new RandomCutForest({ ...small });
    for (let i = 0; i < 50; i++) forest.update([i % 7]);
    const snap = JSON.parse(serializeForest(forest));
    const corrupt = (change: (tree: { arrays: Record<string, string>; [key: string]: unknown }) => void) => {
      const bad = structuredClone(snap);
      change(bad.trees[0]);
      return JSON.stringify(bad);
    };
    const int32s = (values: number[]) => Buffer.from(Int32Array.from(values).buffer).toString('base64');
    assert.throws(() => deserializeForest('{'), SnapshotError);
    assert.throws(() => deserializeForest(JSON.stringify({ ...snap, version: 99 })), SnapshotError);
    const internal = small.num_samples_per_tree - 1;
    // Links pointing outside the pools.
    const links = corrupt((t) => {
      t.arrays.nav = Buffer.from(new Int32Array(internal * 8).fill(9999).buffer).toString('base64');
    });
    assert.throws(() => deserializeForest(links), SnapshotError);
    // A free stack that hands out a node the tree still uses.
    const free = corrupt((t) => {
      const stack = new Int32Array(Buffer.from(t.arrays.leafFree!, 'base64').buffer.slice(0));
      t.arrays.leafFree = int32s(Array.from(stack, () => internal));
      t.leafFreeCount = small.num_samples_per_tree;
    });
    assert.throws(() => deserializeForest(free), SnapshotError);
    // A reservoir entry that is not a point of its tree.
    const sample = corrupt((t) => {
      t.arrays.sampleLeaf = int32s(Array.from({ length: small.num_samples_per_tree }, () => 0));
    });
    assert.throws(() => deserializeForest(sample), SnapshotError);
    assert.throws(
      () =>
        deserializeForest(
          corrupt((t) => {
            delete t.arrays.boxes;
          }),
        ),
      SnapshotError,
    );
  });
});
