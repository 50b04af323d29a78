/**
 * Model snapshots: versioned JSON whose bulk (the node pools, reservoirs and PRNG states) is base64 of the
 * little-endian typed arrays. Everything that decides future behaviour is saved, free-node stacks included,
 * so a restored forest scores identically AND continues updating exactly as the original would have.
 */
import { SnapshotError } from '../../consumers/contract/errors.ts';
import { RandomCutForest } from './forest.ts';
import { type ForestParams, resolveForestParams } from './params.ts';
import { SeededRandom } from './random.ts';
import { TimeDecaySampler } from './sampler.ts';
import { RandomCutTree, type TreeArrays } from './tree.ts';

export const SNAPSHOT_FORMAT = 'fleetstream-rcf';
export const SNAPSHOT_VERSION = 1;

interface TreeSnapshot {
  root: number;
  freeCount: number;
  samplerSize: number;
  /** base64 of each typed array, keyed by name. */
  arrays: Record<string, string>;
}

export interface ForestSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  params: ForestParams;
  updates: number;
  nextAcceptAt: string;
  trees: TreeSnapshot[];
}

type TypedArray = Int32Array | Float64Array | Uint32Array;

function encode(array: TypedArray): string {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new SnapshotError('snapshots are little-endian; big-endian hosts are not supported');
  }
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

function decode<T extends TypedArray>(
  text: string | undefined,
  make: new (buffer: ArrayBuffer) => T,
  bytesPerElement: number,
  length: number,
  name: string,
): T {
  if (typeof text !== 'string') throw new SnapshotError(`snapshot is missing ${name}`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength !== length * bytesPerElement) {
    throw new SnapshotError(`${name} has ${bytes.byteLength} bytes, expected ${length * bytesPerElement}`);
  }
  // Copy into a fresh, aligned buffer: Buffer's pooled memory may not be aligned for Float64Array.
  const buffer = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  return new make(buffer);
}

export function snapshotForest(forest: RandomCutForest): ForestSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    params: forest.params,
    updates: forest.updates,
    nextAcceptAt: encode(forest.nextAcceptAt),
    trees: forest.trees.map((tree, i) => {
      const sampler = forest.samplers[i]!;
      const arrays: Record<string, string> = {};
      for (const [name, array] of Object.entries(tree.arrays())) arrays[name] = encode(array);
      arrays.priority = encode(sampler.priority);
      arrays.sampleLeaf = encode(sampler.leaf);
      arrays.rng = encode(forest.rngs[i]!.state);
      return { root: tree.root, freeCount: tree.freeCount, samplerSize: sampler.size, arrays };
    }),
  };
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SnapshotError(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function inRange(array: Int32Array, min: number, max: number, name: string): void {
  for (let i = 0; i < array.length; i++) {
    const v = array[i]!;
    if (v < min || v > max) throw new SnapshotError(`${name}[${i}] = ${v} is outside [${min}, ${max}]`);
  }
}

export function restoreForest(input: unknown): RandomCutForest {
  if (typeof input !== 'object' || input === null) throw new SnapshotError('snapshot is not an object');
  const snap = input as Partial<ForestSnapshot>;
  if (snap.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`not a ${SNAPSHOT_FORMAT} snapshot`);
  if (snap.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      `snapshot version ${String(snap.version)} is not supported (this build reads ${SNAPSHOT_VERSION})`,
    );
  }
  let params: ForestParams;
  try {
    params = resolveForestParams(snap.params ?? {});
  } catch (cause) {
    throw new SnapshotError('snapshot parameters are invalid', { cause });
  }
  const { num_trees: trees, num_samples_per_tree: samples } = params;
  const dims = params.feature_dim * params.shingle_size;
  const nodes = 2 * samples;
  if (!Array.isArray(snap.trees) || snap.trees.length !== trees) {
    throw new SnapshotError(`snapshot must hold ${trees} trees`);
  }
  const restoredTrees: RandomCutTree[] = [];
  const samplers: TimeDecaySampler[] = [];
  const rngs: SeededRandom[] = [];
  snap.trees.forEach((t, i) => {
    const a = t?.arrays ?? {};
    const name = (n: string) => `trees[${i}].${n}`;
    const arrays: TreeArrays = {
      left: decode(a.left, Int32Array, 4, nodes, name('left')),
      right: decode(a.right, Int32Array, 4, nodes, name('right')),
      parent: decode(a.parent, Int32Array, 4, nodes, name('parent')),
      cutDim: decode(a.cutDim, Int32Array, 4, nodes, name('cutDim')),
      cutValue: decode(a.cutValue, Float64Array, 8, nodes, name('cutValue')),
      mass: decode(a.mass, Int32Array, 4, nodes, name('mass')),
      lo: decode(a.lo, Float64Array, 8, nodes * dims, name('lo')),
      hi: decode(a.hi, Float64Array, 8, nodes * dims, name('hi')),
      rangeSum: decode(a.rangeSum, Float64Array, 8, nodes, name('rangeSum')),
      free: decode(a.free, Int32Array, 4, nodes, name('free')),
    };
    // Indices out of range would send a traversal outside the pool; a corrupted file must fail here instead.
    for (const key of ['left', 'right', 'parent', 'free'] as const)
      inRange(arrays[key], -1, nodes - 1, name(key));
    inRange(arrays.cutDim, -1, dims - 1, name('cutDim'));
    const root = integer(t.root, name('root'), -1, nodes - 1);
    const freeCount = integer(t.freeCount, name('freeCount'), 0, nodes);
    restoredTrees.push(new RandomCutTree(dims, samples, { arrays, freeCount, root }));
    const sampleLeaf = decode(a.sampleLeaf, Int32Array, 4, samples, name('sampleLeaf'));
    inRange(sampleLeaf, 0, nodes - 1, name('sampleLeaf'));
    samplers.push(
      new TimeDecaySampler(samples, {
        priority: decode(a.priority, Float64Array, 8, samples, name('priority')),
        leaf: sampleLeaf,
        size: integer(t.samplerSize, name('samplerSize'), 0, samples),
      }),
    );
    try {
      rngs.push(new SeededRandom(decode(a.rng, Uint32Array, 4, 4, name('rng'))));
    } catch (cause) {
      throw new SnapshotError(`${name('rng')} is not a valid PRNG state`, { cause });
    }
  });
  return new RandomCutForest(params, {
    trees: restoredTrees,
    samplers,
    rngs,
    nextAcceptAt: decode(snap.nextAcceptAt, Float64Array, 8, trees, 'nextAcceptAt'),
    updates: integer(snap.updates, 'updates', 0, Number.MAX_SAFE_INTEGER),
  });
}

/** JSON text of a snapshot (what `model.json` in a model directory holds). */
export function serializeForest(forest: RandomCutForest): string {
  return JSON.stringify(snapshotForest(forest));
}

export function deserializeForest(text: string): RandomCutForest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new SnapshotError('model snapshot is not valid JSON', { cause });
  }
  return restoreForest(parsed);
}
