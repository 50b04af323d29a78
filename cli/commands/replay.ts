import { parseArgs } from 'node:util';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { parseInstant } from '../../consumers/contract/instant.ts';
import { createLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import type { PipelineProgress } from '../../pipeline/progress.ts';
import type { ReadPosition } from '../../pipeline/raw-read.ts';
import { runReplay } from '../../pipeline/replay.ts';
import type { CliCommand } from '../command.ts';
import { readStackLine, type StackLine } from '../options.ts';

const usage = `fleetstream replay --stack JSON|FILE [options]
  Rebuilds results from the stream with a fresh consumer: its own lease table
  (<lease table>-replay-<run id>) and state, so it never takes leases from the live workers. Counts the
  records to replay with a raw read first (the progress bar's total), then processes them with the same
  record processor, so every output has the same id as in the original run. Progress bar on stderr, the
  report as JSON on stdout. Rejections are counted by reason, not re-sent to the DLQ.

  --stack JSON|FILE      the line \`fleetstream local\` prints (or a file holding it): the stack to replay
  --from trim-horizon|ISO-8601
                         start at the oldest record kept (default) or at the first record that arrived at or
                         after this instant (AT_TIMESTAMP)
  --shards ID,ID         replay only these shards (default: every shard)
  --output replay|results
                         replay (default): write to s3://<bucket>/replay/<run id>/results/ (partitioned as
                         results/ is) through a delivery stream of its own, next to the live results/;
                         results: write into the live results/ (ids are identical, readers keep one per id)
  --workers K            replay workers (default 2)
  --quiet                no progress bar`;

export function parseFrom(text: string | undefined): ReadPosition {
  if (text === undefined || text.toLowerCase() === 'trim-horizon') return { type: 'TRIM_HORIZON' };
  // Strict, and with a zone: Date.parse would roll February 30 into March and read a zoneless time as local.
  const ms = parseInstant(text);
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `--from must be trim-horizon or an ISO-8601 instant with a zone (e.g. 2026-11-23T18:00:00Z), got '${text}'`,
    );
  }
  return { type: 'AT_TIMESTAMP', timestampMs: ms };
}

/** `[#########-----------]  45.0%  1234/2742 records  3100 rec/s` */
export function progressBar(p: PipelineProgress, width = 24): string {
  const fraction = p.total > 0 ? Math.min(1, p.recordsIn / p.total) : 1;
  const filled = Math.round(fraction * width);
  const rate = p.elapsedMs > 0 ? (p.recordsIn * 1000) / p.elapsedMs : 0;
  return (
    `replay [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(100 * fraction).toFixed(1).padStart(5)}%  ` +
    `${p.recordsIn}/${p.total} records  ${rate.toFixed(0)} rec/s  outputs ${p.resultsOut}  rejects ${p.rejected}`
  );
}

export const replayCommand: CliCommand = {
  name: 'replay',
  usage,
  async run(argv) {
    let stack: StackLine;
    let from: ReadPosition;
    let shards: string[] | undefined;
    let workers: number | undefined;
    let values: ReturnType<typeof parse>['values'];
    try {
      values = parse(argv).values;
      if (values.stack === undefined)
        throw new ConfigError('--stack is required (the line `fleetstream local` prints)');
      stack = readStackLine(values.stack, ['kinesis']);
      from = parseFrom(values.from);
      shards = values.shards
        ?.split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
      if (shards?.length === 0) throw new ConfigError(`--shards names no shard: '${values.shards}'`);
      if (values.workers !== undefined) {
        workers = Number(values.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
          throw new ConfigError(`--workers must be an integer from 1 to 64, got '${values.workers}'`);
        }
      }
      if (values.output !== undefined && values.output !== 'replay' && values.output !== 'results') {
        throw new ConfigError(`--output must be replay or results, got '${values.output}'`);
      }
    } catch (error) {
      process.stderr.write(`fleetstream replay: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    const tty = process.stderr.isTTY === true;
    const clients = createAwsClients({
      region: stack.region,
      endpoints: stack.endpoints,
      credentials: stack.credentials,
    });
    try {
      const report = await runReplay(
        {
          from,
          ...(shards === undefined ? {} : { shards }),
          ...(workers === undefined ? {} : { workers }),
          ...(values.output === undefined ? {} : { output: values.output as 'replay' | 'results' }),
          ...(stack.resources?.names === undefined ? {} : { names: stack.resources.names }),
          ...(values.quiet
            ? {}
            : {
                onProgress: (p: PipelineProgress) =>
                  process.stderr.write(tty ? `\r${progressBar(p)}\u001b[K` : `${progressBar(p)}\n`),
              }),
        },
        {
          clients,
          logger: createLogger({ service: 'fleetstream-replay', level: values.quiet ? 'error' : 'warn' }),
          metrics: createMetrics({ write: () => {} }),
        },
      );
      if (tty && !values.quiet) process.stderr.write('\n');
      const { counters: _counters, ...printable } = report;
      process.stdout.write(`${JSON.stringify(printable)}\n`);
      return report.complete ? 0 : 1;
    } catch (error) {
      process.stderr.write(`\nfleetstream replay: ${(error as Error).message}\n`);
      return 1;
    } finally {
      clients.destroy();
    }
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      stack: { type: 'string' },
      from: { type: 'string' },
      shards: { type: 'string' },
      output: { type: 'string' },
      workers: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
}
