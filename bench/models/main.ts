/**
 * bench/models — Random Cut Forest throughput on one core: updates/s and scores/s with SageMaker's default
 * forest (100 trees × 256 samples) over a shingled (8) real series.
 *
 * Two ways to run the same forest, alternated in this process so their ratio is measured under the same
 * conditions: tree by tree over runs of points (`updateAll`, `scoreAll`: what training, the serving container
 * and the NAB evaluation call; `rcf_updates_per_s`, `rcf_scores_per_s`) and one point at a time (`update`,
 * `score`; `rcf_single_updates_per_s`, `rcf_single_scores_per_s`). Both give the same forest and scores bit for
 * bit (test/models/rcf.test.ts). Also runs the textbook update that draws a reservoir priority for every tree
 * on every point, to report what skip sampling buys (`ratio_to_textbook_update`, against one at a time).
 *
 * Rates are per CPU second of this single-threaded process (process.cpuUsage, which also counts the JIT and GC
 * helper threads, so it errs against us), i.e. per core; wall-clock rates are printed beside them because on a
 * shared machine the two differ. Updates are measured in the steady state the time decay settles into, and
 * `tree_changes_per_update` is printed beside what the decay implies, so a sampler that accepted too little
 * would show.
 *
 * Prints JSON lines; the last is the summary with `rcf_updates_per_s` and `rcf_scores_per_s`.
 * Options (env): RCF_SECONDS (CPU seconds per way of running, default 4, split over ROUNDS alternations),
 * RCF_TREES (100), RCF_SAMPLES (256), RCF_SHINGLE (8), RCF_RUN (points per tree-by-tree call, STAGED_POINTS).
 */
import { RandomCutForest, STAGED_POINTS } from '../../models/rcf/forest.ts';
import { TimeDecaySampler } from '../../models/rcf/sampler.ts';
import { shingleSeries } from '../../models/rcf/shingle.ts';
import { benchSeries } from './series.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SECONDS = env('RCF_SECONDS', 4);
const RUN = env('RCF_RUN', STAGED_POINTS);
const ROUNDS = 4;
const params = {
  num_trees: env('RCF_TREES', 100),
  num_samples_per_tree: env('RCF_SAMPLES', 256),
  shingle_size: env('RCF_SHINGLE', 8),
  feature_dim: 1,
  seed: 42,
};

const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'models', ...line })}\n`);
};

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Measured {
  count: number;
  cpu: number;
  wall: number;
}

/**
 * Runs `step(i)` for i = 0, 1, … until `seconds` of CPU time have passed, adding to `into`; each step
 * handles `perStep` points, and the clock is read every 256 points (cpuUsage is a syscall).
 */
function measure(seconds: number, step: (i: number) => void, into: Measured, perStep = 1): Measured {
  const cpu0 = cpuSeconds();
  const wall0 = performance.now();
  let steps = 0;
  for (;;) {
    for (let k = 0; k < Math.max(1, 256 / perStep); k++) step(steps++);
    const cpu = cpuSeconds() - cpu0;
    if (cpu >= seconds) {
      into.count += steps * perStep;
      into.cpu += cpu;
      into.wall += (performance.now() - wall0) / 1000;
      return into;
    }
  }
}

const measured = (): Measured => ({ count: 0, cpu: 0, wall: 0 });
const perCpuSecond = (m: Measured): number => Math.round(m.count / m.cpu);
const perWallSecond = (m: Measured): number => Math.round(m.count / m.wall);

/** The textbook per-point reservoir test over the same trees: one priority draw per tree per point. */
function textbookUpdate(forest: RandomCutForest, point: Float64Array): void {
  const t = forest.updates++;
  const lambda = forest.params.time_decay;
  for (let i = 0; i < forest.trees.length; i++) {
    const sampler = forest.samplers[i]!;
    const rng = forest.rngs[i]!;
    const priority = TimeDecaySampler.drawPriority(rng, lambda, t);
    if (sampler.isFull) {
      if (priority >= sampler.worstPriority) continue;
      forest.trees[i]!.delete(sampler.worstLeaf);
      sampler.replaceWorst(priority, forest.trees[i]!.insert(point, rng));
    } else {
      sampler.add(priority, forest.trees[i]!.insert(point, rng));
    }
  }
}

const series = benchSeries();
const points = shingleSeries(
  Array.from(series.values, (v) => [v]),
  1,
  params.shingle_size,
);
emit({ stage: 'series', series: series.name, points: points.length, run: RUN, ...params });
const pointAt = (i: number): Float64Array => points[i % points.length]!;
/** The run of RUN points that tree-by-tree step `i` after `from` takes. */
const runAt = (from: number, i: number): Float64Array[] =>
  Array.from({ length: RUN }, (_, k) => pointAt(from + i * RUN + k));

// Warm up to the steady state: every reservoir full, and past the fill transient, during which a time-decayed
// reservoir still accepts more often than it will later (it takes a few multiples of 1/λ updates; 4·S updates
// alone left the measured window at ~10 tree changes per update instead of the steady ~9.75). Both forests
// are the same forest (updateAll builds what update does), each then taking its own copy of the stream.
const lambda = new RandomCutForest(params).params.time_decay;
const warm = Math.max(4 * params.num_samples_per_tree, lambda > 0 ? Math.ceil(8 / lambda) : 0);
const warmed = (): RandomCutForest => {
  const forest = new RandomCutForest(params);
  forest.updateAll(Array.from({ length: warm }, (_, i) => pointAt(i)));
  return forest;
};
const treeByTree = warmed();
const single = warmed();

const updates = measured();
const singleUpdates = measured();
const insertsBefore = [countInserts(treeByTree), countInserts(single)] as const;
let fedTreeByTree = warm;
let fedSingle = warm;
for (let round = 0; round < ROUNDS; round++) {
  const from = fedTreeByTree;
  const before = updates.count;
  measure(SECONDS / ROUNDS, (i) => treeByTree.updateAll(runAt(from, i)), updates, RUN);
  fedTreeByTree += updates.count - before;
  const singleFrom = fedSingle;
  const singleBefore = singleUpdates.count;
  measure(SECONDS / ROUNDS, (i) => single.update(pointAt(singleFrom + i)), singleUpdates);
  fedSingle += singleUpdates.count - singleBefore;
}
const treeChangesPerUpdate = (countInserts(treeByTree) - insertsBefore[0]) / updates.count;
const singleChangesPerUpdate = (countInserts(single) - insertsBefore[1]) / singleUpdates.count;
const expectedChanges = expectedTreeChanges(params.num_trees, params.num_samples_per_tree, lambda);
emit({
  stage: 'update',
  way: 'tree_by_tree',
  warmup_updates: warm,
  updates: updates.count,
  cpu_s: round(updates.cpu),
  wall_s: round(updates.wall),
  updates_per_s: perCpuSecond(updates),
  updates_per_wall_s: perWallSecond(updates),
  tree_changes_per_update: round(treeChangesPerUpdate),
  expected_tree_changes_per_update: round(expectedChanges),
});
emit({
  stage: 'update',
  way: 'single',
  updates: singleUpdates.count,
  cpu_s: round(singleUpdates.cpu),
  wall_s: round(singleUpdates.wall),
  updates_per_s: perCpuSecond(singleUpdates),
  updates_per_wall_s: perWallSecond(singleUpdates),
  tree_changes_per_update: round(singleChangesPerUpdate),
  expected_tree_changes_per_update: round(expectedChanges),
});

const textbookForest = warmed();
const textbook = measure(SECONDS / 2, (i) => textbookUpdate(textbookForest, pointAt(warm + i)), measured());
emit({
  stage: 'textbook_update',
  updates: textbook.count,
  cpu_s: round(textbook.cpu),
  updates_per_s: perCpuSecond(textbook),
});

let sink = 0;
let singleSink = 0;
const scores = measured();
const singleScores = measured();
for (let round = 0; round < ROUNDS; round++) {
  measure(
    SECONDS / ROUNDS,
    (i) => {
      for (const s of treeByTree.scoreAll(runAt(0, i))) sink += s;
    },
    scores,
    RUN,
  );
  measure(
    SECONDS / ROUNDS,
    (i) => {
      singleSink += single.score(pointAt(i));
    },
    singleScores,
  );
}
for (const [way, m, total] of [
  ['tree_by_tree', scores, sink],
  ['single', singleScores, singleSink],
] as const) {
  emit({
    stage: 'score',
    way,
    scores: m.count,
    cpu_s: round(m.cpu),
    wall_s: round(m.wall),
    scores_per_s: perCpuSecond(m),
    scores_per_wall_s: perWallSecond(m),
    mean_score: round(total / m.count),
  });
}

// The node pools as the trees hold them: links, boxes, leaf points and parents, free stacks.
const forestBytes = treeByTree.trees.reduce((sum, tree) => {
  const s = tree.state();
  const arrays = [s.nav, s.boxes, s.leafPoints, s.leafParent, s.internalFree, s.leafFree];
  return sum + arrays.reduce((bytes, a) => bytes + a.byteLength, 0);
}, 0);
emit({
  summary: true,
  series: series.name,
  ...params,
  time_decay: lambda,
  run: RUN,
  rcf_updates_per_s: perCpuSecond(updates),
  rcf_scores_per_s: perCpuSecond(scores),
  rcf_single_updates_per_s: perCpuSecond(singleUpdates),
  rcf_single_scores_per_s: perCpuSecond(singleScores),
  ratio_tree_by_tree_update: round(perCpuSecond(updates) / perCpuSecond(singleUpdates)),
  ratio_tree_by_tree_score: round(perCpuSecond(scores) / perCpuSecond(singleScores)),
  rcf_updates_per_wall_s: perWallSecond(updates),
  rcf_scores_per_wall_s: perWallSecond(scores),
  textbook_updates_per_s: perCpuSecond(textbook),
  ratio_to_textbook_update: round(perCpuSecond(singleUpdates) / perCpuSecond(textbook)),
  tree_changes_per_update: round(treeChangesPerUpdate),
  // Per-tree costs: an update's CPU time spread over the trees it changed (each a delete and an insert),
  // a score's over all trees.
  ns_per_tree_change: Math.round((updates.cpu / updates.count / treeChangesPerUpdate) * 1e9),
  ns_per_tree_change_single: Math.round(
    (singleUpdates.cpu / singleUpdates.count / singleChangesPerUpdate) * 1e9,
  ),
  ns_per_tree_score: Math.round((scores.cpu / scores.count / params.num_trees) * 1e9),
  ns_per_tree_score_single: Math.round((singleScores.cpu / singleScores.count / params.num_trees) * 1e9),
  forest_bytes: forestBytes,
});

/**
 * Steady-state tree changes per update that the time decay implies: a full reservoir holds a point of age k
 * with probability about 1 − exp(−c·e^(−λk)) (each point independently, the Poisson view of weighted
 * sampling), c being set by the reservoir size S = Σ_k that probability; a new point (k = 0) is then taken by
 * each tree with probability 1 − e^(−c). λ = 0 has no steady state (acceptance keeps falling as S/t).
 */
function expectedTreeChanges(trees: number, samples: number, timeDecay: number): number {
  if (timeDecay === 0) return Number.NaN;
  const held = (c: number) => {
    let sum = 0;
    for (let k = 0; k < 40 / timeDecay; k++) sum += 1 - Math.exp(-c * Math.exp(-timeDecay * k));
    return sum;
  };
  let lo = 0;
  let hi = samples;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (held(mid) < samples) lo = mid;
    else hi = mid;
  }
  return trees * (1 - Math.exp(-lo));
}

function countInserts(f: RandomCutForest): number {
  // Every accepted point beyond the reservoir's fill evicts one; their count is the sum of draws taken.
  return f.trees.reduce((sum, t) => sum + t.insertions, 0);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
