/**
 * How changes to the in-stream scorer are judged: the NAB scores of the fixed split's two halves
 * (split.ts) side by side with the whole corpus, each normalized over its own windows, at its own optimal
 * threshold (as NAB does), at the other half's threshold (the score a threshold tuned elsewhere earns) and
 * at the stream's configured threshold. A change is worth keeping when it helps both halves.
 *
 *   node --import tsx bench/anomaly/halves.ts [--set key=value]… [--files] [--sim]
 *
 * `--set` overrides a setting of AnomalyConfig; `--files` adds each file's standard score at the
 * whole-corpus threshold; `--sim` adds the simulator's fault figures under the same settings.
 * Prints one JSON line per row, then a summary line.
 */
import { parseArgs } from 'node:util';
import type { AnomalyConfig } from '../../anomaly/config.ts';
import { createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { type LoadedSeries, loadCorpus } from './corpus.ts';
import {
  NAB_PROFILES,
  type NabProfile,
  normalizeScore,
  optimizeThreshold,
  perfectScore,
  rowWeights,
  scoreFile,
} from './nab.ts';
import { streamScorer } from './ours.ts';
import { faultSummary, runSimulatedFaults } from './simulated.ts';
import { HALVES } from './split.ts';

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function parseOverrides(pairs: readonly string[]): Partial<AnomalyConfig> {
  const overrides: Record<string, number> = {};
  for (const pair of pairs) {
    const [key, value] = pair.split('=');
    if (key === undefined || value === undefined) throw new Error(`--set wants key=value, got '${pair}'`);
    overrides[key] = Number(value);
  }
  return overrides as Partial<AnomalyConfig>;
}

interface Subset {
  readonly name: string;
  readonly files: readonly LoadedSeries[];
  readonly scores: readonly number[][];
}

/** Raw S(T) of a subset at a fixed threshold, summed over its files (§4). */
function rawAt(subset: Subset, profile: NabProfile, threshold: number): number {
  let total = 0;
  subset.files.forEach((series, f) => {
    total += scoreFile(series, subset.scores[f]!, profile, threshold, rowWeights(series, profile)).score;
  });
  return total;
}

function main(): void {
  const { values: args } = parseArgs({
    options: {
      set: { type: 'string', multiple: true },
      files: { type: 'boolean' },
      sim: { type: 'boolean' },
    },
  });
  const config = parseOverrides(args.set ?? []);
  const streamThreshold = createMetricAnomalyScorer(config).threshold;
  const corpus = loadCorpus();
  const detector = streamScorer(config);
  const scores = corpus.map((series) => detector.score(series.timestampsMs, series.values));
  const subsets: Subset[] = [
    ...HALVES.map((half) => {
      const members = corpus.flatMap((series, f) => (series.half === half ? [f] : []));
      return { name: half, files: members.map((f) => corpus[f]!), scores: members.map((f) => scores[f]!) };
    }),
    { name: 'all', files: corpus, scores },
  ];

  const summary: Record<string, unknown> = { type: 'summary', config };
  for (const profile of NAB_PROFILES) {
    const optima = new Map(
      subsets.map((subset) => [subset.name, optimizeThreshold(subset.files, subset.scores, profile)]),
    );
    for (const subset of subsets) {
      const perfect = perfectScore(subset.files, profile);
      // The null detector detects nothing at its optimum (§7): every window is a miss.
      const nullRaw = -profile.fnWeight * perfect;
      const best = optima.get(subset.name)!;
      const atStream = normalizeScore(rawAt(subset, profile, streamThreshold), nullRaw, perfect);
      const line: Record<string, unknown> = {
        type: 'subset',
        profile: profile.name,
        subset: subset.name,
        files: subset.files.length,
        windows: perfect,
        threshold: round(best.threshold, 4),
        nab: round(normalizeScore(best.score, nullRaw, perfect)),
        nab_at_stream_threshold: round(atStream),
      };
      const other = subset.name === 'a' ? 'b' : subset.name === 'b' ? 'a' : undefined;
      if (other !== undefined) {
        const transferred = optima.get(other)!.threshold;
        line.nab_at_other_half_threshold = round(
          normalizeScore(rawAt(subset, profile, transferred), nullRaw, perfect),
        );
      }
      emit(line);
      const key =
        profile.name === 'standard'
          ? 'standard'
          : profile.name === 'reward_low_FP_rate'
            ? 'low_fp'
            : 'low_fn';
      summary[`${subset.name}_${key}`] = round(normalizeScore(best.score, nullRaw, perfect));
      summary[`${subset.name}_${key}_threshold`] = round(best.threshold, 4);
      if (subset.name === 'all') summary[`all_${key}_at_stream_threshold`] = round(atStream);
    }
  }

  if (args.files === true) {
    const standard = NAB_PROFILES[0]!;
    const threshold = optimizeThreshold(corpus, scores, standard).threshold;
    corpus.forEach((series, f) => {
      const result = scoreFile(series, scores[f]!, standard, threshold, rowWeights(series, standard));
      emit({
        type: 'file',
        file: series.name,
        half: series.half,
        windows: series.windows.length,
        score: round(result.score, 3),
        // What a null detector scores on this file: the file's share of the gap to it.
        gain: round(result.score + series.windows.length, 3),
        fp: result.fp,
        // Per window: how far into it the first detection came (0 = its left edge), or null for a miss.
        detected_at: series.windows.map(([left, right]) => {
          for (let i = left; i <= right; i++)
            if (scores[f]![i]! >= threshold) return round((i - left) / (right - left + 1));
          return null;
        }),
      });
    });
  }

  if (args.sim === true) {
    const simulated = runSimulatedFaults({ devices: 30, anomaly: config });
    Object.assign(summary, faultSummary(simulated.score, 'sim_'));
  }
  emit(summary);
}

main();
