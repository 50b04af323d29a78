import { parseArgs } from 'node:util';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { MAX_DIMENSIONS, MAX_SAMPLES, MAX_SEED, MAX_TREES } from '../../models/rcf/params.ts';
import { saveModel } from '../../models/serving/model-dir.ts';
import { trainFromArchive } from '../../models/training/archive.ts';
import type { CliCommand } from '../command.ts';
import { integerOption } from '../options.ts';

export const trainModelCommand: CliCommand = {
  name: 'train-model',
  usage: [
    'fleetstream train-model --output DIR [--bucket B] [--prefix P] [--metrics m1,m2] [forest options]',
    `  --bucket          archive bucket (default ${DEFAULT_NAMES.bucket})`,
    "  --prefix          key prefix (default 'raw/'; e.g. raw/dt=2026-11-01/ for one day)",
    '  --metrics         comma-separated metric names forming one record (default temperatureC)',
    '  --num-trees, --num-samples-per-tree, --shingle-size, --seed   forest parameters (defaults 100, 256, 8, 42)',
    '  --max-objects     stop after this many S3 objects',
    '  --s3-endpoint     S3 endpoint URL (local runs; credentials then S3RVER/S3RVER)',
    '  --region          AWS region (default $AWS_REGION, else us-east-1)',
    'Prints the training report as JSON on stdout.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        output: { type: 'string', short: 'o' },
        bucket: { type: 'string' },
        prefix: { type: 'string' },
        metrics: { type: 'string' },
        'num-trees': { type: 'string' },
        'num-samples-per-tree': { type: 'string' },
        'shingle-size': { type: 'string' },
        seed: { type: 'string' },
        'max-objects': { type: 'string' },
        's3-endpoint': { type: 'string' },
        region: { type: 'string' },
      },
    });
    if (values.output === undefined) {
      process.stderr.write('train-model: --output DIR is required\n');
      return 2;
    }
    const endpoint = values['s3-endpoint'];
    const clients = createAwsClients({
      region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(endpoint === undefined
        ? {}
        : { endpoints: { s3: endpoint }, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
    });
    try {
      const params = {
        num_trees: integerOption('num-trees', values['num-trees'], 1, MAX_TREES),
        num_samples_per_tree: integerOption(
          'num-samples-per-tree',
          values['num-samples-per-tree'],
          1,
          MAX_SAMPLES,
        ),
        shingle_size: integerOption('shingle-size', values['shingle-size'], 1, MAX_DIMENSIONS),
        seed: integerOption('seed', values.seed, 0, MAX_SEED),
      };
      const { forest, report } = await trainFromArchive({
        s3: clients.s3,
        bucket: values.bucket ?? DEFAULT_NAMES.bucket,
        prefix: values.prefix,
        metrics: values.metrics?.split(',').map((m) => m.trim()),
        params: Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)),
        maxObjects: integerOption('max-objects', values['max-objects'], 1),
      });
      const path = await saveModel(values.output, forest);
      process.stdout.write(`${JSON.stringify({ model: path, params: forest.params, ...report })}\n`);
      return 0;
    } finally {
      clients.destroy();
    }
  },
};
