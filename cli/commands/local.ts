import { parseArgs } from 'node:util';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { ensureResources } from '../../local/resources.ts';
import { type LocalEndpoints, localClientsConfig, startLocalStack } from '../../local/stack.ts';
import type { CliCommand } from '../command.ts';
import { integerOption as integer } from '../options.ts';

const USAGE = `fleetstream local [--data-dir DIR] [--port-base N] [--shards N] [--buffer-seconds S]
  Starts the embedded AWS-compatible stack (Kinesis, DynamoDB, S3, Firehose, EventBridge, SQS),
  creates the pipeline's resources and prints the endpoints as one JSON line; runs until Ctrl-C
  (SIGINT/SIGTERM). SIGUSR2 delivers the buffered Firehose records to S3 at once.
  --data-dir DIR        keep data under DIR so a restart resumes (default: in-memory)
  --port-base N         kinesis=N, dynamodb=N+1, s3=N+2, firehose=N+3, eventbridge=N+4, sqs=N+5
                        (default: ephemeral ports)
  --shards N            shards of a newly created stream (default: 2)
  --buffer-seconds S    Firehose buffer interval, 0-900 (default: 60)`;

const PORT_ORDER: readonly (keyof LocalEndpoints)[] = [
  'kinesis',
  'dynamodb',
  's3',
  'firehose',
  'eventbridge',
  'sqs',
];

export const localCommand: CliCommand = {
  name: 'local',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        'port-base': { type: 'string' },
        shards: { type: 'string' },
        'buffer-seconds': { type: 'string' },
      },
    });
    let portBase: number | undefined;
    let shardCount: number | undefined;
    let bufferIntervalSeconds: number | undefined;
    try {
      portBase = integer('port-base', values['port-base'], 1024, 65_535 - PORT_ORDER.length);
      shardCount = integer('shards', values.shards, 1, 100);
      bufferIntervalSeconds = integer('buffer-seconds', values['buffer-seconds'], 0, 900);
    } catch (error) {
      process.stderr.write(`fleetstream local: ${(error as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    const ports =
      portBase === undefined
        ? undefined
        : Object.fromEntries(PORT_ORDER.map((service, i) => [service, portBase + i]));

    const stack = await startLocalStack({
      ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
      ...(ports === undefined ? {} : { ports }),
    });
    const clients = createAwsClients(localClientsConfig(stack));
    try {
      const resources = await ensureResources(
        clients,
        {},
        {
          ...(shardCount === undefined ? {} : { shardCount }),
          ...(bufferIntervalSeconds === undefined ? {} : { bufferIntervalSeconds }),
        },
      );
      process.stdout.write(
        `${JSON.stringify({ region: stack.region, credentials: stack.credentials, endpoints: stack.endpoints, resources })}\n`,
      );
      process.stderr.write('fleetstream local: running; Ctrl-C to stop, SIGUSR2 to flush Firehose buffers\n');
      // Another process (a pipeline run, a script) cannot call flush() in-process; a signal can.
      const flushOnSignal = (): void => {
        stack.standIns.firehose.flush().then(
          (written) =>
            process.stderr.write(`${JSON.stringify({ msg: 'firehose flushed', objects: written })}\n`),
          (error: unknown) =>
            process.stderr.write(`fleetstream local: flush failed: ${(error as Error).message}\n`),
        );
      };
      process.on('SIGUSR2', flushOnSignal);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.off('SIGUSR2', flushOnSignal);
      process.stderr.write('fleetstream local: stopping (delivering buffered Firehose records)\n');
      return 0;
    } finally {
      clients.destroy();
      await stack.stop();
    }
  },
};
