import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quantile } from 'simple-statistics';
import { SnapshotError } from '../../consumers/contract/errors.ts';
import { RandomCutForest } from '../../models/rcf/forest.ts';
import { SeededRandom } from '../../models/rcf/random.ts';
import { deserializeForest, serializeForest } from '../../models/rcf/serialize.ts';
import { Shingle } from '../../models/rcf/shingle.ts';
import { RandomCutTree } from '../../models/rcf/tree.ts';

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

/** Checks every structural invariant of a tree: links, masses and exact bounding boxes. Returns its size. */
function checkTree(tree: RandomCutTree): number {
  const d = tree.dimensions;
  function visit(node: number, parent: number): { mass: number; lo: number[]; hi: number[] } {
    assert.equal(tree.parent[node], parent, `parent link of ${node}`);
    const box = (arr: Float64Array) => Array.from(arr.subarray(node * d, node * d + d));
    if (tree.cutDim[node]! < 0) {
      assert.deepEqual(box(tree.lo), box(tree.hi), 'a leaf box is its point');
      assert.ok(tree.mass[node]! >= 1);
      return { mass: tree.mass[node]!, lo: box(tree.lo), hi: box(tree.hi) };
    }
    const a = visit(tree.left[node]!, node);
    const b = visit(tree.right[node]!, node);
    const dim = tree.cutDim[node]!;
    assert.ok(a.hi[dim]! <= tree.cutValue[node]!, 'left subtree lies at or below the cut');
    assert.ok(b.lo[dim]! > tree.cutValue[node]!, 'right subtree lies above the cut');
    const lo = a.lo.map((v, j) => Math.min(v, b.lo[j]!));
    const hi = a.hi.map((v, j) => Math.max(v, b.hi[j]!));
    assert.deepEqual(box(tree.lo), lo, 'box is the exact union of its children');
    assert.deepEqual(box(tree.hi), hi);
    assert.equal(
      tree.rangeSum[node],
      hi.reduce((sum, h, j) => sum + (h - lo[j]!), 0),
      'rangeSum matches the box',
    );
    assert.equal(tree.mass[node], a.mass + b.mass, 'mass is the sum of the children');
    return { mass: a.mass + b.mass, lo, hi };
  }
  return tree.root < 0 ? 0 : visit(tree.root, -1).mass;
}

describe('random cut tree', () => {
  it('keeps exact boxes, masses and links through any sequence of inserts and deletes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 60 }),
        (dim, seed, ops) => {
          const rng = SeededRandom.fromSeed(seed);
          const tree = new RandomCutTree(dim, 16);
          const leaves: number[] = [];
          for (const op of ops) {
            // Small integer coordinates make duplicates common, which exercises leaf masses.
            if (leaves.length < 16 && (op % 3 !== 0 || leaves.length === 0)) {
              const p = Float64Array.from({ length: dim }, (_, j) => ((op >> (2 * j)) % 4) - 1);
              leaves.push(tree.insert(p, rng));
            } else {
              tree.delete(leaves.splice(op % leaves.length, 1)[0]!);
            }
            assert.equal(checkTree(tree), leaves.length);
          }
        },
      ),
      { numRuns: 150 },
    );
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
    const copy = () => {
      const a = base.arrays();
      return new RandomCutTree(dim, 32, {
        arrays: {
          left: a.left.slice(),
          right: a.right.slice(),
          parent: a.parent.slice(),
          cutDim: a.cutDim.slice(),
          cutValue: a.cutValue.slice(),
          mass: a.mass.slice(),
          lo: a.lo.slice(),
          hi: a.hi.slice(),
          rangeSum: a.rangeSum.slice(),
          free: a.free.slice(),
        },
        freeCount: base.freeCount,
        root: base.root,
      });
    };
    let sum = 0;
    const runs = 4000;
    for (let r = 0; r < runs; r++) {
      const tree = copy();
      let node = tree.insert(x, rng);
      let codisp = 0;
      for (let up = tree.parent[node]!; up >= 0; node = up, up = tree.parent[node]!) {
        const sibling = tree.left[up] === node ? tree.right[up]! : tree.left[up]!;
        codisp = Math.max(codisp, tree.mass[sibling]! / tree.mass[node]!);
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
          if (forest.trees[t]!.lo[leaf]! < 1000) first++;
        }
      });
      assert.equal(total, 50 * 40);
      return first / total;
    };
    // 2000 samples: the standard error of a fair half is about 0.011.
    assert.ok(Math.abs(sampledFromFirstHalf(0) - 0.5) < 0.05);
    assert.ok(sampledFromFirstHalf(1 / 400) < 0.2);
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
    assert.throws(() => deserializeForest('{'), SnapshotError);
    assert.throws(() => deserializeForest(JSON.stringify({ ...snap, version: 99 })), SnapshotError);
    const bad = structuredClone(snap);
    bad.trees[0].arrays.left = Buffer.from(new Int32Array(64).fill(9999).buffer).toString('base64');
    assert.throws(() => deserializeForest(JSON.stringify(bad)), SnapshotError);
  });
});
