import { parseArgs } from 'node:util';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { SAGEMAKER_MODEL_DIR } from '../../models/serving/model-dir.ts';
import { startModelServer } from '../../models/serving/server.ts';
import type { CliCommand } from '../command.ts';

export const serveModelCommand: CliCommand = {
  name: 'serve-model',
  usage: [
    'fleetstream serve-model [--model-dir DIR] [--port N] [--host ADDR] [--endpoint-name NAME]',
    `  --model-dir      directory holding model.json (default ${SAGEMAKER_MODEL_DIR}, where SageMaker puts it)`,
    '  --port           TCP port (default $SAGEMAKER_BIND_TO_PORT, else 8080; 0 picks a free one)',
    '  --host           interface (default 0.0.0.0)',
    `  --endpoint-name  name answered on /endpoints/{name}/invocations (default ${DEFAULT_NAMES.modelEndpoint})`,
    'Runs until SIGINT or SIGTERM.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'model-dir': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'endpoint-name': { type: 'string' },
      },
    });
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      process.stderr.write(`serve-model: --port must be a TCP port, got '${values.port}'\n`);
      return 2;
    }
    const server = await startModelServer({
      modelDir: values['model-dir'],
      port,
      host: values.host,
      endpointName: values['endpoint-name'],
    });
    process.stderr.write(`serve-model: listening on ${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
