import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type AnomalyConfig, DEFAULT_ANOMALY_CONFIG, parseAnomalyConfig } from '../../anomaly/config.ts';
import { createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { parseDecimal, parseSeriesCsv, type SeriesRow } from '../../anomaly/series-csv.ts';
import { FleetstreamError } from '../../consumers/contract/errors.ts';
import type { CliCommand } from '../command.ts';

const kebab = (field: string): string => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Every numeric AnomalyConfig field becomes `--<kebab-case-name> <number>`. */
const CONFIG_FLAGS = Object.keys(DEFAULT_ANOMALY_CONFIG).map((field) => ({
  field: field as keyof AnomalyConfig,
  flag: kebab(field),
}));

/**
 * Scores a series exactly as the stream does: slot 0 of the stream's scorer, one update per row in
 * order. Rows whose value is not a number score 0 and are not folded in, as in the stream.
 */
export function scoreSeries(rows: readonly SeriesRow[], config: Partial<AnomalyConfig> = {}): string {
  const scorer = createMetricAnomalyScorer(config);
  scorer.ensureCapacity(1);
  const lines = ['timestamp,value,anomaly_score'];
  for (const row of rows) {
    const score = scorer.update(0, row.tsMs, row.value);
    lines.push(`${row.timestamp},${row.valueText},${score}`);
  }
  return `${lines.join('\n')}\n`;
}

export const scoreCommand: CliCommand = {
  name: 'score',
  usage: [
    'fleetstream score [--input FILE] [--output FILE] [--<setting> N ...]',
    '  Reads timestamp,value rows (stdin when --input is omitted) and writes timestamp,value,anomaly_score',
    '  (stdout when --output is omitted), one row per input row in the same order, running the code the',
    '  stream runs. Scores are in [0, 1]; the stream raises an anomaly at or above --threshold.',
    '  Detector settings (defaults are the stream defaults):',
    ...CONFIG_FLAGS.map(({ field, flag }) => `    --${flag} ${DEFAULT_ANOMALY_CONFIG[field]}`),
  ].join('\n'),
  async run(argv) {
    const options: Record<string, { type: 'string'; short?: string }> = {
      input: { type: 'string', short: 'i' },
      output: { type: 'string', short: 'o' },
    };
    for (const { flag } of CONFIG_FLAGS) options[flag] = { type: 'string' };
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({ args: argv, options, strict: true }));
    } catch (error) {
      process.stderr.write(`fleetstream score: ${(error as Error).message}\n`);
      return 2;
    }
    const config: Record<string, number> = {};
    for (const { field, flag } of CONFIG_FLAGS) {
      const text = values[flag];
      if (typeof text !== 'string') continue;
      config[field] = parseDecimal(text.trim());
      if (Number.isNaN(config[field])) {
        process.stderr.write(`fleetstream score: --${flag} must be a number, got '${text}'\n`);
        return 2;
      }
    }
    try {
      parseAnomalyConfig(config);
    } catch (error) {
      // The settings name their fields (anomaly.warmupReadings); the user typed flags.
      const message = (error as Error).message.replace(
        /anomaly\.(\w+)/g,
        (_, field: string) => `--${kebab(field)}`,
      );
      process.stderr.write(`fleetstream score: ${message}\n`);
      return 2;
    }
    try {
      const input = typeof values.input === 'string' ? values.input : 0; // fd 0: stdin
      const rows = parseSeriesCsv(readFileSync(input, 'utf8'));
      const unreadable = rows.filter((row) => Number.isNaN(row.value));
      if (unreadable.length > 0) {
        const first = unreadable[0]!;
        process.stderr.write(
          `fleetstream score: ${unreadable.length} row(s) hold no finite number (first: line ${first.line}, ` +
            `'${first.valueText}'); each is scored 0 and not learned from\n`,
        );
      }
      const backwards = rows.findIndex((row, i) => i > 0 && row.tsMs < rows[i - 1]!.tsMs);
      if (backwards > 0) {
        // Scored in file order all the same, as the stream scores in arrival order; the seasonal part and
        // the rate detector assume time moves forward, so say so.
        process.stderr.write(
          `fleetstream score: timestamps go back in time (first: line ${rows[backwards]!.line}); ` +
            'rows are scored in file order\n',
        );
      }
      const output = scoreSeries(rows, config);
      if (typeof values.output === 'string') writeFileSync(values.output, output);
      else process.stdout.write(output);
      return 0;
    } catch (error) {
      if (error instanceof FleetstreamError) {
        process.stderr.write(`fleetstream score: ${error.code}: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
