/**
 * bench/models — Random Cut Forest throughput on one core: updates/s and scores/s with SageMaker's default
 * forest (100 trees × 256 samples) over a shingled (8) real series. Also runs, in the same process, the
 * textbook update that draws a reservoir priority for every tree on every point, to report what skip
 * sampling buys (`ratio_to_textbook_update`).
 *
 * Rates are per CPU second of this single-threaded process (process.cpuUsage, which also counts the JIT and GC
 * helper threads, so it errs against us), i.e. per core; wall-clock rates are printed beside them because on a
 * shared machine the two differ. Updates are measured in the steady state the time decay settles into, and
 * `tree_changes_per_update` is printed beside what the decay implies, so a sampler that accepted too little
 * would show.
 *
 * Prints JSON lines; the last is the summary with `rcf_updates_per_s` and `rcf_scores_per_s`.
 * Options (env): RCF_SECONDS (CPU seconds per measurement, default 4), RCF_TREES (100), RCF_SAMPLES (256),
 * RCF_SHINGLE (8).
 */
import { RandomCutForest } from '../../models/rcf/forest.ts';
import { TimeDecaySampler } from '../../models/rcf/sampler.ts';
import { Shingle } from '../../models/rcf/shingle.ts';
import { benchSeries } from './series.ts';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SECONDS = env('RCF_SECONDS', 4);
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

/** Runs `step(i)` for i = 0, 1, … until `seconds` of CPU time have passed; returns count and times. */
function measure(seconds: number, step: (i: number) => void): { count: number; cpu: number; wall: number } {
  const cpu0 = cpuSeconds();
  const wall0 = performance.now();
  let count = 0;
  for (;;) {
    // Check the clock every 256 steps: cpuUsage is a syscall.
    for (let k = 0; k < 256; k++) step(count++);
    const cpu = cpuSeconds() - cpu0;
    if (cpu >= seconds) return { count, cpu, wall: (performance.now() - wall0) / 1000 };
  }
}

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

function shingled(values: Float64Array, size: number): Float64Array[] {
  const shingle = new Shingle(1, size);
  const points: Float64Array[] = [];
  for (const v of values) {
    const p = shingle.push([v]);
    if (p !== undefined) points.push(p.slice());
  }
  return points;
}

const series = benchSeries();
const points = shingled(series.values, params.shingle_size);
emit({ stage: 'series', series: series.name, points: points.length, ...params });

// Warm up to the steady state: every reservoir full, and past the fill transient, during which a time-decayed
// reservoir still accepts more often than it will later (it takes a few multiples of 1/λ updates; 4·S updates
// alone left the measured window at ~10 tree changes per update instead of the steady ~9.75).
const forest = new RandomCutForest(params);
const lambda = forest.params.time_decay;
const warm = Math.max(4 * params.num_samples_per_tree, lambda > 0 ? Math.ceil(8 / lambda) : 0);
for (let i = 0; i < warm; i++) forest.update(points[i % points.length]!);
const insertsBefore = countInserts(forest);

const updates = measure(SECONDS, (i) => forest.update(points[(warm + i) % points.length]!));
const treeChangesPerUpdate = (countInserts(forest) - insertsBefore) / updates.count;
emit({
  stage: 'update',
  warmup_updates: warm,
  updates: updates.count,
  cpu_s: round(updates.cpu),
  wall_s: round(updates.wall),
  updates_per_s: Math.round(updates.count / updates.cpu),
  updates_per_wall_s: Math.round(updates.count / updates.wall),
  tree_changes_per_update: round(treeChangesPerUpdate),
  expected_tree_changes_per_update: round(
    expectedTreeChanges(params.num_trees, params.num_samples_per_tree, lambda),
  ),
});

const textbookForest = new RandomCutForest(params);
for (let i = 0; i < warm; i++) textbookUpdate(textbookForest, points[i % points.length]!);
const textbook = measure(SECONDS / 2, (i) =>
  textbookUpdate(textbookForest, points[(warm + i) % points.length]!),
);
emit({
  stage: 'textbook_update',
  updates: textbook.count,
  cpu_s: round(textbook.cpu),
  updates_per_s: Math.round(textbook.count / textbook.cpu),
});

let sink = 0;
const scores = measure(SECONDS, (i) => {
  sink += forest.score(points[i % points.length]!);
});
emit({
  stage: 'score',
  scores: scores.count,
  cpu_s: round(scores.cpu),
  wall_s: round(scores.wall),
  scores_per_s: Math.round(scores.count / scores.cpu),
  scores_per_wall_s: Math.round(scores.count / scores.wall),
  mean_score: round(sink / scores.count),
});

// The node pools as the trees hold them: links, boxes, leaf points and parents, free stacks.
const forestBytes = forest.trees.reduce((sum, tree) => {
  const s = tree.state();
  const arrays = [s.nav, s.boxes, s.leafPoints, s.leafParent, s.internalFree, s.leafFree];
  return sum + arrays.reduce((bytes, a) => bytes + a.byteLength, 0);
}, 0);
emit({
  summary: true,
  series: series.name,
  ...params,
  time_decay: lambda,
  rcf_updates_per_s: Math.round(updates.count / updates.cpu),
  rcf_scores_per_s: Math.round(scores.count / scores.cpu),
  rcf_updates_per_wall_s: Math.round(updates.count / updates.wall),
  rcf_scores_per_wall_s: Math.round(scores.count / scores.wall),
  textbook_updates_per_s: Math.round(textbook.count / textbook.cpu),
  ratio_to_textbook_update: round(updates.count / updates.cpu / (textbook.count / textbook.cpu)),
  tree_changes_per_update: round(treeChangesPerUpdate),
  // Per-tree costs: an update's CPU time spread over the trees it changed (each a delete and an insert),
  // a score's over all trees.
  ns_per_tree_change: Math.round((updates.cpu / updates.count / treeChangesPerUpdate) * 1e9),
  ns_per_tree_score: Math.round((scores.cpu / scores.count / params.num_trees) * 1e9),
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
