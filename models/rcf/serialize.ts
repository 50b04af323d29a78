/**
 * Model snapshots: versioned JSON whose bulk (the node pools, reservoirs and PRNG states) is base64 of the
 * little-endian typed arrays. Everything that decides future behaviour is saved, free-node stacks included,
 * so a restored forest scores identically AND continues updating exactly as the original would have.
 *
 * Version 2 saves the trees' own pools (tree.ts: internal nodes' links and boxes, leaves kept apart as points).
 * Version 1 saved one pool of 2S nodes per tree as one array per field; it is still read, by copying each
 * tree into the current layout: node ids change, but the trees, the scores and every later update are the
 * same as the version-1 forest would have given.
 */
import { SnapshotError } from '../../consumers/contract/errors.ts';
import { RandomCutForest } from './forest.ts';
import { type ForestParams, resolveForestParams } from './params.ts';
import { SeededRandom } from './random.ts';
import { TimeDecaySampler } from './sampler.ts';
import { buildTree, NONE, RandomCutTree, type TreeSource } from './tree.ts';

export const SNAPSHOT_FORMAT = 'fleetstream-rcf';
export const SNAPSHOT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

interface TreeSnapshot {
  root: number;
  /** Version 2: points in the tree; internal and leaf free-stack depths. */
  size?: number;
  internalFreeCount?: number;
  leafFreeCount?: number;
  /** Version 1: depth of the one free stack. */
  freeCount?: number;
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
      const state = tree.state();
      return {
        root: state.root,
        size: state.size,
        internalFreeCount: state.internalFreeCount,
        leafFreeCount: state.leafFreeCount,
        samplerSize: sampler.size,
        arrays: {
          nav: encode(state.nav),
          boxes: encode(state.boxes),
          leafPoints: encode(state.leafPoints),
          leafParent: encode(state.leafParent),
          internalFree: encode(state.internalFree),
          leafFree: encode(state.leafFree),
          priority: encode(sampler.priority),
          sampleLeaf: encode(sampler.leaf),
          rng: encode(forest.rngs[i]!.state),
        },
      };
    }),
  };
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SnapshotError(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

/** Shapes and sizes of one forest's trees, shared by the version readers. */
interface Shape {
  readonly dims: number;
  readonly samples: number;
}

function readTreeV2(t: TreeSnapshot, shape: Shape, label: string): RandomCutTree {
  const { dims, samples } = shape;
  const name = (n: string) => `${label}.${n}`;
  const a = t.arrays ?? {};
  const internal = Math.max(samples - 1, 0);
  try {
    return new RandomCutTree(dims, samples, {
      nav: decode(a.nav, Float64Array, 8, internal * 4, name('nav')),
      boxes: decode(a.boxes, Float64Array, 8, internal * 2 * dims, name('boxes')),
      leafPoints: decode(a.leafPoints, Float64Array, 8, samples * dims, name('leafPoints')),
      leafParent: decode(a.leafParent, Int32Array, 4, samples, name('leafParent')),
      internalFree: decode(a.internalFree, Int32Array, 4, internal, name('internalFree')),
      leafFree: decode(a.leafFree, Int32Array, 4, samples, name('leafFree')),
      internalFreeCount: integer(t.internalFreeCount, name('internalFreeCount'), 0, internal),
      leafFreeCount: integer(t.leafFreeCount, name('leafFreeCount'), 0, samples),
      root: integer(t.root, name('root'), NONE, internal + samples - 1),
      size: integer(t.size, name('size'), 0, samples),
    });
  } catch (cause) {
    if (cause instanceof SnapshotError) throw cause;
    throw new SnapshotError(`${label} is not a valid tree: ${(cause as Error).message}`, { cause });
  }
}

/** Copies a version-1 tree (one pool of 2S nodes, one array per field) into the current layout. */
function readTreeV1(t: TreeSnapshot, shape: Shape, label: string): { tree: RandomCutTree; idOf: Int32Array } {
  const { dims, samples } = shape;
  const name = (n: string) => `${label}.${n}`;
  const a = t.arrays ?? {};
  const nodes = 2 * samples;
  const int = (n: string) => decode(a[n], Int32Array, 4, nodes, name(n));
  const left = int('left');
  const right = int('right');
  const cutDim = int('cutDim');
  const mass = int('mass');
  const cutValue = decode(a.cutValue, Float64Array, 8, nodes, name('cutValue'));
  const lo = decode(a.lo, Float64Array, 8, nodes * dims, name('lo'));
  const hi = decode(a.hi, Float64Array, 8, nodes * dims, name('hi'));
  const source: TreeSource = {
    root: integer(t.root, name('root'), NONE, nodes - 1),
    isLeaf: (id) => cutDim[id]! < 0,
    left: (id) => left[id]!,
    right: (id) => right[id]!,
    cutDim: (id) => cutDim[id]!,
    cutValue: (id) => cutValue[id]!,
    lower: (id, j) => lo[id * dims + j]!,
    upper: (id, j) => hi[id * dims + j]!,
    mass: (id) => mass[id]!,
  };
  try {
    return buildTree(dims, samples, source, nodes);
  } catch (cause) {
    throw new SnapshotError(`${label} is not a valid tree: ${(cause as Error).message}`, { cause });
  }
}

/** Each sampled entry must be one unit of an in-use leaf's mass, or deleting it would break the tree. */
function checkSampler(tree: RandomCutTree, sampler: TimeDecaySampler, name: string): void {
  if (sampler.size !== tree.size) {
    throw new SnapshotError(`${name} holds ${sampler.size} points but its tree ${tree.size}`);
  }
  const seen = new Map<number, number>();
  for (let k = 0; k < sampler.size; k++) {
    const leaf = sampler.leaf[k]!;
    seen.set(leaf, (seen.get(leaf) ?? 0) + 1);
  }
  for (const [leaf, count] of seen) {
    const inUse = tree.isLeaf(leaf) && leaf < tree.leafBase + tree.maxPoints;
    if (!inUse || tree.massOf(leaf) !== count) {
      throw new SnapshotError(`${name} refers to leaf ${leaf}, which does not hold ${count} points`);
    }
  }
}

export function restoreForest(input: unknown): RandomCutForest {
  if (typeof input !== 'object' || input === null) throw new SnapshotError('snapshot is not an object');
  const snap = input as Partial<ForestSnapshot>;
  if (snap.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`not a ${SNAPSHOT_FORMAT} snapshot`);
  const version = snap.version;
  if (typeof version !== 'number' || !READABLE_VERSIONS.includes(version)) {
    throw new SnapshotError(
      `snapshot version ${String(version)} is not supported (this build reads ${READABLE_VERSIONS.join(', ')})`,
    );
  }
  let params: ForestParams;
  try {
    params = resolveForestParams(snap.params ?? {});
  } catch (cause) {
    throw new SnapshotError('snapshot parameters are invalid', { cause });
  }
  const { num_trees: trees, num_samples_per_tree: samples } = params;
  const shape: Shape = { dims: params.feature_dim * params.shingle_size, samples };
  if (!Array.isArray(snap.trees) || snap.trees.length !== trees) {
    throw new SnapshotError(`snapshot must hold ${trees} trees`);
  }
  const restoredTrees: RandomCutTree[] = [];
  const samplers: TimeDecaySampler[] = [];
  const rngs: SeededRandom[] = [];
  snap.trees.forEach((t: TreeSnapshot, i) => {
    if (typeof t !== 'object' || t === null) throw new SnapshotError(`trees[${i}] is not an object`);
    const a = t.arrays ?? {};
    const label = `trees[${i}]`;
    const name = (n: string) => `${label}.${n}`;
    const sampleLeaf = decode(a.sampleLeaf, Int32Array, 4, samples, name('sampleLeaf'));
    let tree: RandomCutTree;
    if (version === 1) {
      const copied = readTreeV1(t, shape, label);
      tree = copied.tree;
      for (let k = 0; k < sampleLeaf.length; k++) {
        const old = sampleLeaf[k]!;
        sampleLeaf[k] = old >= 0 && old < copied.idOf.length ? copied.idOf[old]! : NONE;
      }
    } else {
      tree = readTreeV2(t, shape, label);
    }
    const sampler = new TimeDecaySampler(samples, {
      priority: decode(a.priority, Float64Array, 8, samples, name('priority')),
      leaf: sampleLeaf,
      size: integer(t.samplerSize, name('samplerSize'), 0, samples),
    });
    checkSampler(tree, sampler, name('sampleLeaf'));
    restoredTrees.push(tree);
    samplers.push(sampler);
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
