import { parseArgs } from 'node:util';
import type { AwsClients } from '../../consumers/aws/clients.ts';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { ConfigError, FleetstreamError } from '../../consumers/contract/errors.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import {
  DEFAULT_SIMULATION_CONFIG,
  FAULT_PRESET_NAMES,
  parseSimulationConfig,
  type SimulationOverrides,
} from '../../sim/config.ts';
import { FileGroundTruth } from '../../sim/ground-truth.ts';
import { runSimulation, type SimulationProgress, type SimulationReport } from '../../sim/simulate.ts';
import { eventBridgePort, kinesisPort } from '../../sim/transport.ts';
import type { CliCommand } from '../command.ts';
import { readStackLine } from '../options.ts';

const usage = `fleetstream simulate [options]
  Runs the fleet simulator: N devices with diurnal temperature and humidity, battery cycles and energy
  counters with reboots, plus labeled faults. Sends through EventBridge PutEvents (payloads EventBridge
  cannot carry go straight to the Kinesis stream), writes the ground truth, prints a JSON summary.
  Progress goes to stderr, the summary to stdout.

  --devices N              devices in the fleet (default 10)
  --rate N|max             events per second over all devices, wall clock (default 100)
  --device-rate N          events per second per device instead (rate = N × devices)
  --duration SECONDS       seconds of sending at --rate (default 30)
  --readings N             readings per device (default rate × duration ÷ devices; needed with --rate max)
  --interval SECONDS       device time between a device's readings (default 5; device time runs faster
                           than the wall clock so daily cycles and late events fit in a short run)
  --realtime               device time is wall time (interval = devices ÷ rate)
  --faults default|none    fault mix (default: default, every fault type at a modest rate)
  --seed S                 seed of every random choice (default 1)
  --ground-truth FILE      write the ground truth as NDJSON
  --direct                 write every record straight to Kinesis in the envelope EventBridge's rule would
                           produce (benchmarks of the consumers; skips the bus and its 10-entry calls)
  --stack JSON|FILE        the line \`fleetstream local\` prints (or a file holding it): send to that running stack
  --endpoint URL           EventBridge endpoint of a running local stack (or any EventBridge-compatible one)
  --kinesis-endpoint URL   Kinesis endpoint for the direct records (malformed payloads)
  --aws                    send to AWS (default credentials and region) instead of a local endpoint
  --region R               region (default AWS_REGION or us-east-1)
  --bus NAME               event bus (default ${DEFAULT_NAMES.bus})
  --stream NAME            Kinesis stream for direct records (default ${DEFAULT_NAMES.stream})
  --json                   print the summary as one JSON line
  --quiet                  no progress on stderr

  Without --stack, --endpoint or --aws, an embedded local stack is started for the run and its resources created
  (nothing consumes the stream then: \`npm start\` runs the whole pipeline).`;

function parseNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new ConfigError(`--${name} must be a number, got '${text}'`);
  return value;
}

function progressLine(p: SimulationProgress): string {
  const done = p.totalRecords > 0 ? ((100 * p.taken) / p.totalRecords).toFixed(1) : '100.0';
  return (
    `simulate ${p.taken}/${p.totalRecords} (${done}%)  delivered ${p.delivered}  ` +
    `${p.eventsPerSecond.toFixed(0)} ev/s  retried ${p.retried}  failed ${p.failed}  dropped ${p.dropped}  ` +
    `${(p.elapsedMs / 1000).toFixed(1)} s`
  );
}

interface Destination {
  /** Where the records went, for the summary. */
  readonly endpoint: string;
  readonly clients: Pick<AwsClients, 'eventbridge' | 'kinesis'>;
  readonly region: string;
  readonly account?: string;
  close(): Promise<void>;
}

async function embeddedStack(bus: string, stream: string): Promise<Destination> {
  const { startLocalStack, localClientsConfig, LOCAL_ACCOUNT_ID } = await import('../../local/stack.ts');
  const { ensureResources } = await import('../../local/resources.ts');
  const stack = await startLocalStack();
  const clients = createAwsClients(localClientsConfig(stack));
  try {
    await ensureResources(clients, { bus, stream });
  } catch (error) {
    clients.destroy();
    await stack.stop();
    throw error;
  }
  return {
    endpoint: 'embedded local stack (stopped after the run)',
    clients,
    region: stack.region,
    account: LOCAL_ACCOUNT_ID,
    async close() {
      clients.destroy();
      await stack.stop();
    },
  };
}

export const simulateCommand: CliCommand = {
  name: 'simulate',
  usage,
  async run(argv) {
    let values: ReturnType<typeof parse>['values'];
    try {
      values = parse(argv).values;
    } catch (error) {
      process.stderr.write(`fleetstream simulate: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    const region = values.region ?? process.env.AWS_REGION ?? 'us-east-1';
    const bus = values.bus ?? DEFAULT_NAMES.bus;
    const stream = values.stream ?? DEFAULT_NAMES.stream;
    let overrides: SimulationOverrides;
    let config: ReturnType<typeof parseSimulationConfig>;
    let groundTruth: FileGroundTruth | undefined;
    try {
      if (values.rate !== undefined && values['device-rate'] !== undefined) {
        throw new ConfigError('--rate and --device-rate exclude each other');
      }
      const perDevice = parseNumber('device-rate', values['device-rate']);
      const devices = parseNumber('devices', values.devices);
      const rate =
        perDevice !== undefined
          ? perDevice * (devices ?? DEFAULT_SIMULATION_CONFIG.devices)
          : values.rate === 'max'
            ? Infinity
            : parseNumber('rate', values.rate);
      const interval = parseNumber('interval', values.interval);
      const faults = values.faults;
      if (faults !== undefined && !(FAULT_PRESET_NAMES as string[]).includes(faults)) {
        throw new ConfigError(`--faults must be one of ${FAULT_PRESET_NAMES.join(', ')}, got '${faults}'`);
      }
      if (values.aws && values.endpoint !== undefined)
        throw new ConfigError('--aws and --endpoint exclude each other');
      for (const flag of ['endpoint', 'kinesis-endpoint'] as const) {
        const url = values[flag];
        if (url !== undefined && !URL.canParse(url))
          throw new ConfigError(`--${flag} must be a URL, got '${url}'`);
      }
      overrides = {
        ...(devices === undefined ? {} : { devices }),
        ...(rate === undefined ? {} : { rate }),
        ...(values.duration === undefined
          ? {}
          : { durationSeconds: parseNumber('duration', values.duration) }),
        ...(values.readings === undefined
          ? {}
          : { readingsPerDevice: parseNumber('readings', values.readings) }),
        ...(interval === undefined ? {} : { intervalMs: interval * 1000 }),
        ...(values.realtime ? { clock: 'realtime' as const } : {}),
        ...(values.direct ? { route: 'kinesis' as const } : {}),
        ...(faults === undefined ? {} : { faults: faults as 'default' | 'none' }),
        ...(values.seed === undefined
          ? {}
          : { seed: /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed }),
        envelope: { region },
      };
      config = parseSimulationConfig(overrides);
      groundTruth =
        values['ground-truth'] === undefined ? undefined : new FileGroundTruth(values['ground-truth']);
    } catch (error) {
      process.stderr.write(`fleetstream simulate: ${(error as Error).message}\n`);
      return 2;
    }

    let destination: Destination;
    try {
      if (values.aws) {
        const clients = createAwsClients({ region });
        destination = { endpoint: 'aws', clients, region, close: async () => clients.destroy() };
      } else if (values.stack !== undefined) {
        const stack = readStackLine(values.stack, ['eventbridge', 'kinesis']);
        const clients = createAwsClients({
          region: stack.region,
          endpoints: { eventbridge: stack.endpoints.eventbridge, kinesis: stack.endpoints.kinesis },
          credentials: stack.credentials,
        });
        destination = {
          endpoint: `local stack: eventbridge ${stack.endpoints.eventbridge}, kinesis ${stack.endpoints.kinesis}`,
          clients,
          region: stack.region,
          close: async () => clients.destroy(),
        };
      } else if (values.endpoint !== undefined) {
        const endpoints = {
          eventbridge: values.endpoint,
          kinesis: values['kinesis-endpoint'] ?? values.endpoint,
        };
        const credentials =
          process.env.AWS_ACCESS_KEY_ID === undefined
            ? // The embedded stack's key pair (s3rver accepts only its own; the rest accept any).
              { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
            : undefined;
        const clients = createAwsClients({ region, endpoints, ...(credentials ? { credentials } : {}) });
        destination = {
          endpoint: `eventbridge ${endpoints.eventbridge}, kinesis ${endpoints.kinesis}`,
          clients,
          region,
          close: async () => clients.destroy(),
        };
      } else {
        if (!values.quiet) process.stderr.write('simulate: starting the embedded local stack\n');
        destination = await embeddedStack(bus, stream);
      }
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`fleetstream simulate: ${error.message}\n`);
        return 2;
      }
      process.stderr.write(
        `fleetstream simulate: could not reach the endpoints: ${(error as Error).message}\n`,
      );
      return 1;
    }
    if (destination.account !== undefined) {
      config = parseSimulationConfig({ ...overrides, envelope: { region, account: destination.account } });
    }

    const abort = new AbortController();
    const onSignal = () => abort.abort(new FleetstreamError('INTERRUPTED', 'interrupted'));
    process.once('SIGINT', onSignal);
    const tty = process.stderr.isTTY === true;
    let report: SimulationReport;
    try {
      report = await runSimulation(
        config,
        {
          bus: eventBridgePort(destination.clients.eventbridge, bus),
          stream: kinesisPort(destination.clients.kinesis, stream),
        },
        {
          ...(groundTruth === undefined ? {} : { groundTruth }),
          signal: abort.signal,
          ...(values.quiet
            ? {}
            : {
                onProgress: (p: SimulationProgress) =>
                  process.stderr.write(tty ? `\r${progressLine(p)}\u001b[K` : `${progressLine(p)}\n`),
              }),
        },
      );
    } finally {
      process.removeListener('SIGINT', onSignal);
      if (tty && !values.quiet) process.stderr.write('\n');
      await destination.close();
    }
    const summary = {
      ...report,
      destination: { endpoint: destination.endpoint, region, bus, stream },
      ...(values['ground-truth'] === undefined ? {} : { groundTruth: values['ground-truth'] }),
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`,
    );
    if (report.aborted) return 130;
    return report.failed > 0 ? 1 : 0;
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      devices: { type: 'string' },
      rate: { type: 'string' },
      'device-rate': { type: 'string' },
      duration: { type: 'string' },
      readings: { type: 'string' },
      interval: { type: 'string' },
      realtime: { type: 'boolean' },
      direct: { type: 'boolean' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      'ground-truth': { type: 'string' },
      stack: { type: 'string' },
      endpoint: { type: 'string' },
      'kinesis-endpoint': { type: 'string' },
      aws: { type: 'boolean' },
      region: { type: 'string' },
      bus: { type: 'string' },
      stream: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
  });
}
