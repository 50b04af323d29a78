import { parseArgs } from 'node:util';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { ConfigError, FleetstreamError } from '../../consumers/contract/errors.ts';
import { createLogger } from '../../consumers/observability/logger.ts';
import { createMetrics } from '../../consumers/observability/metrics.ts';
import { startLocalStackProcess } from '../../local/process/stack-process.ts';
import { localClientsConfig } from '../../local/stack.ts';
import { type LocalModel, prepareLocalModel } from '../../pipeline/model.ts';
import { progressWriter } from '../../pipeline/progress.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { composeSummary, renderSummary } from '../../pipeline/summary.ts';
import { FAULT_PRESET_NAMES, parseSimulationConfig, type SimulationOverrides } from '../../sim/config.ts';
import { FileGroundTruth } from '../../sim/ground-truth.ts';
import type { CliCommand } from '../command.ts';
import { integerOption as integer, positiveOption as positive } from '../options.ts';

/** A bare `npm start`: ~1,200 events over 12 s through the whole pipeline, done in about 20 s. */
export const START_DEFAULTS = { devices: 10, durationSeconds: 12, rate: 100, shards: 4, workers: 2 } as const;

const usage = `fleetstream start [options]          (npm start -- [options])
  Runs the whole pipeline on this machine: starts the embedded AWS-compatible stack, creates the
  resources, starts the consumer workers, runs the fleet simulator for a bounded time, waits until every
  record is processed and every Firehose buffer is in S3, then prints the summary: the accounting
  (sent = results + rejected + dead-lettered + duplicates), where the results are in S3, rejects by reason
  code and what was detected per injected fault type. Live progress on stderr. Exit code 0 when every
  record is accounted for, 1 otherwise.

  --devices N          devices in the fleet (default ${START_DEFAULTS.devices})
  --duration SECONDS   seconds the simulator sends (default ${START_DEFAULTS.durationSeconds})
  --rate R             events per second over the fleet (default ${START_DEFAULTS.rate})
  --workers K          consumer workers sharing the lease table (default ${START_DEFAULTS.workers})
  --shards S           Kinesis shards (default ${START_DEFAULTS.shards})
  --faults default|none  injected fault mix (default: default)
  --seed N             seed of every random choice (default 1)
  --ground-truth FILE  also write the simulator's ground truth (NDJSON) to FILE
  --model-dir DIR      also consult the Random Cut Forest in DIR/model.json, served as the SageMaker
                       endpoint, on every in-stream alarm; an empty DIR first gets a model trained on
                       the raw archive of a fault-free run of the same fleet
  --model-metrics M    comma-separated metrics of one model record (default temperatureC)
  --json-summary       end with the summary as ONE JSON line on stdout (progress stays on stderr)
  --quiet              no progress and no worker logs on stderr`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      devices: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      workers: { type: 'string' },
      shards: { type: 'string' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      'ground-truth': { type: 'string' },
      'model-dir': { type: 'string' },
      'model-metrics': { type: 'string' },
      'json-summary': { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
  });
}

export const startCommand: CliCommand = {
  name: 'start',
  usage,
  async run(argv) {
    let simulation: SimulationOverrides;
    let shards: number;
    let workers: number;
    let values: ReturnType<typeof parse>['values'];
    let groundTruth: FileGroundTruth | undefined;
    try {
      values = parse(argv).values;
      const faults = values.faults ?? 'default';
      if (!(FAULT_PRESET_NAMES as string[]).includes(faults)) {
        throw new ConfigError(`--faults must be one of ${FAULT_PRESET_NAMES.join(', ')}, got '${faults}'`);
      }
      shards = integer('shards', values.shards, 1, 64) ?? START_DEFAULTS.shards;
      workers = integer('workers', values.workers, 1, 64) ?? START_DEFAULTS.workers;
      simulation = {
        devices: integer('devices', values.devices, 1, 1_000_000) ?? START_DEFAULTS.devices,
        durationSeconds: positive('duration', values.duration) ?? START_DEFAULTS.durationSeconds,
        rate: positive('rate', values.rate) ?? START_DEFAULTS.rate,
        faults: faults as 'default' | 'none',
        ...(values.seed === undefined
          ? {}
          : { seed: /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed }),
      };
      // Checked here, before the stack starts, so a bad mix of flags costs no start-up.
      parseSimulationConfig(simulation);
      if (values['model-metrics'] !== undefined && values['model-dir'] === undefined) {
        throw new ConfigError('--model-metrics needs --model-dir');
      }
      groundTruth =
        values['ground-truth'] === undefined ? undefined : new FileGroundTruth(values['ground-truth']);
    } catch (error) {
      process.stderr.write(`fleetstream start: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    const quiet = values.quiet === true;
    const progress = progressWriter(process.stderr);
    // Worker logs would tear the progress line apart; only warnings and errors get through.
    const logger = createLogger({
      service: 'fleetstream-start',
      level: quiet ? 'error' : 'warn',
      write: (line) => {
        progress.end();
        process.stderr.write(line);
      },
    });
    // EMF lines are for CloudWatch; locally the progress line and the summary say the same.
    const metrics = createMetrics({ write: () => {} });

    const say = (line: string): void => {
      if (!quiet) process.stderr.write(`fleetstream start: ${line}\n`);
    };
    const modelDir = values['model-dir'];
    let model: LocalModel | undefined;
    if (modelDir !== undefined) {
      try {
        model = await prepareLocalModel(
          {
            dir: modelDir,
            ...(values['model-metrics'] === undefined
              ? {}
              : { metrics: values['model-metrics'].split(',').map((m) => m.trim()) }),
            simulation,
            shards,
            workers,
          },
          { logger, metrics, say },
        );
      } catch (error) {
        process.stderr.write(`fleetstream start: ${(error as Error).message}\n`);
        return error instanceof ConfigError ? 2 : 1;
      }
      if (model.training !== undefined) say(`model trained: ${JSON.stringify(model.training)}`);
    }
    say('starting the embedded stack');
    const stack = await startLocalStackProcess(modelDir === undefined ? {} : { modelDir });
    const clients = createAwsClients(localClientsConfig(stack));
    const abort = new AbortController();
    const onSignal = () => abort.abort(new FleetstreamError('INTERRUPTED', 'interrupted'));
    process.once('SIGINT', onSignal);
    try {
      const run = await runPipeline(
        {
          simulation,
          shards,
          workers,
          signal: abort.signal,
          ...(groundTruth === undefined ? {} : { groundTruth }),
          ...(quiet ? {} : { onProgress: (p) => progress.write(p) }),
          ...(model === undefined ? {} : { model: model.config }),
        },
        { stack, clients, logger, metrics },
      );
      progress.end();
      process.stdout.write(
        values['json-summary'] === true
          ? `${JSON.stringify(composeSummary(run.sections))}\n`
          : renderSummary(run.sections),
      );
      return run.sections.accounting.balanced ? 0 : 1;
    } catch (error) {
      progress.end();
      process.stderr.write(`fleetstream start: ${(error as Error).message}\n`);
      return 1;
    } finally {
      process.removeListener('SIGINT', onSignal);
      clients.destroy();
      await stack.stop();
    }
  },
};
