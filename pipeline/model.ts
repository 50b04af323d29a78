/**
 * The model a local run consults (`fleetstream start --model-dir`). A directory that already holds
 * `model.json` is used as it is; an empty one gets a model trained the way it would be in AWS: a
 * fault-free run of the same fleet through the same pipeline, then batch training on that run's raw
 * archive in S3 (models/training). Either way the model's own parameters decide the shingle the stream
 * builds, so stream and model cannot disagree.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createAwsClients } from '../consumers/aws/clients.ts';
import { ConfigError } from '../consumers/contract/errors.ts';
import { DEFAULT_NAMES } from '../consumers/contract/routing.ts';
import type { Logger } from '../consumers/observability/logger.ts';
import type { Metrics } from '../consumers/observability/metrics.ts';
import type { ModelRuntimeConfig } from '../consumers/runtimes/runtime.ts';
import { startLocalStackProcess } from '../local/process/stack-process.ts';
import { localClientsConfig } from '../local/stack.ts';
import { loadModel, MODEL_FILE, saveModel } from '../models/serving/model-dir.ts';
import { type TrainingReport, trainFromArchive } from '../models/training/archive.ts';
import type { SimulationOverrides } from '../sim/config.ts';
import { runPipeline } from './run.ts';

export interface LocalModelProps {
  readonly dir: string;
  /** Metrics forming one model record; must match a model already in `dir`. @default ['temperatureC'] */
  readonly metrics?: readonly string[];
  /** Share of ordinary readings also scored (they calibrate the model's scores). @default 0.1 */
  readonly sampleRate?: number;
  /** The fleet of the run; a training run sends the same fleet without faults. */
  readonly simulation: SimulationOverrides;
  readonly shards: number;
  readonly workers: number;
}

export interface LocalModel {
  readonly config: ModelRuntimeConfig;
  /** Present when the model was trained for this run. */
  readonly training?: TrainingReport;
}

export async function prepareLocalModel(
  props: LocalModelProps,
  deps: { readonly logger: Logger; readonly metrics: Metrics; readonly say: (line: string) => void },
): Promise<LocalModel> {
  const metrics = props.metrics ?? ['temperatureC'];
  let training: TrainingReport | undefined;
  if (!existsSync(join(props.dir, MODEL_FILE))) {
    deps.say(`no ${MODEL_FILE} in ${props.dir}: training one on the raw archive of a fault-free run first`);
    training = await trainOnFaultFreeRun(props, metrics, deps);
  }
  const forest = await loadModel(props.dir);
  if (forest.params.feature_dim !== metrics.length) {
    throw new ConfigError(
      `the model in ${props.dir} takes ${forest.params.feature_dim} metric(s) per record; --model-metrics names ${metrics.length}`,
    );
  }
  return {
    config: {
      endpointName: DEFAULT_NAMES.modelEndpoint,
      metrics,
      shingleSize: forest.params.shingle_size,
      // A short local run needs a larger sample than a long-lived stream to calibrate the model's scores.
      sampleRate: props.sampleRate ?? 0.1,
      timeoutMs: 1000,
    },
    ...(training === undefined ? {} : { training }),
  };
}

async function trainOnFaultFreeRun(
  props: LocalModelProps,
  metrics: readonly string[],
  deps: { readonly logger: Logger; readonly metrics: Metrics },
): Promise<TrainingReport> {
  const stack = await startLocalStackProcess();
  const clients = createAwsClients(localClientsConfig(stack));
  try {
    const run = await runPipeline(
      {
        simulation: { ...props.simulation, faults: 'none' },
        shards: props.shards,
        workers: props.workers,
      },
      { stack, clients, logger: deps.logger, metrics: deps.metrics },
    );
    const { forest, report } = await trainFromArchive({
      s3: clients.s3,
      bucket: run.resources.names.bucket,
      metrics,
    });
    await saveModel(props.dir, forest);
    return report;
  } finally {
    clients.destroy();
    await stack.stop();
  }
}
