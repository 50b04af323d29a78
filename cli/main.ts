/**
 * The `fleetstream` command line. Subcommands load lazily so `--help` and small commands start fast.
 */
import { ConfigError, FleetstreamError } from '../consumers/contract/errors.ts';
import type { CliCommand } from './command.ts';

/** What `--help` lists; each command's module loads only when it runs (or prints its own usage). */
interface CommandEntry {
  /** One line for `fleetstream --help`. */
  readonly summary: string;
  readonly load: () => Promise<CliCommand>;
}

const commands: Record<string, CommandEntry> = {
  corrections: {
    summary: 'list correction dead letters and failures, show an item history, redrive after a fix',
    load: async () => (await import('./commands/corrections.ts')).correctionsCommand,
  },
  local: {
    summary: 'run the embedded AWS-compatible stack with the pipeline resources until Ctrl-C',
    load: async () => (await import('./commands/local.ts')).localCommand,
  },
  replay: {
    summary: 'rebuild results from TRIM_HORIZON or a timestamp, for the stream or chosen shards',
    load: async () => (await import('./commands/replay.ts')).replayCommand,
  },
  schema: {
    summary:
      'print the telemetry event JSON Schema (EventBridge schema registry, JSONSchemaDraft4-compatible)',
    load: async () => (await import('./commands/schema.ts')).schemaCommand,
  },
  score: {
    summary: 'backtest the in-stream anomaly scorer on a timestamp,value CSV (NAB format)',
    load: async () => (await import('./commands/score.ts')).scoreCommand,
  },
  'serve-model': {
    summary:
      'serve a Random Cut Forest over the SageMaker inference container contract (/ping, /invocations)',
    load: async () => (await import('./commands/serve-model.ts')).serveModelCommand,
  },
  simulate: {
    summary:
      'simulate a device fleet with labeled faults, send it through EventBridge, write the ground truth',
    load: async () => (await import('./commands/simulate.ts')).simulateCommand,
  },
  start: {
    summary: 'run the whole pipeline locally: stack, workers, simulator, live progress, accounting summary',
    load: async () => (await import('./commands/start.ts')).startCommand,
  },
  'train-model': {
    summary: 'train a Random Cut Forest on the raw archive in S3 and write model.json',
    load: async () => (await import('./commands/train-model.ts')).trainModelCommand,
  },
};

function help(): string {
  const names = Object.keys(commands).sort();
  const width = Math.max(...names.map((name) => name.length));
  return [
    'fleetstream: IoT fleet telemetry → trustworthy results on AWS',
    '',
    'Usage: fleetstream <command> [options]   (fleetstream <command> --help for details)',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${commands[name]!.summary}`),
    '',
  ].join('\n');
}

/**
 * One line for an error no command handled itself: a user's mistake (a bad flag, a file that is not there,
 * an endpoint that does not answer) deserves its message, not a stack trace. FLEETSTREAM_DEBUG=1 adds the
 * trace, for the errors that are ours.
 */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  let text =
    error instanceof FleetstreamError
      ? `${error.code}: ${error.message}`
      : typeof code === 'string' && !code.startsWith('ERR_PARSE_ARGS') && !error.message.includes(code)
        ? `${code}: ${error.message}`
        : error.message || error.name;
  if (error.cause instanceof Error && !text.includes(error.cause.message)) {
    text += ` (cause: ${error.cause.message})`;
  }
  return text;
}

/** Usage mistakes exit 2, everything else 1. */
export function exitCodeFor(error: unknown): number {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof ConfigError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    ? 2
    : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(help());
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(help());
    return 2;
  }
  const wanted = name === 'help' ? (rest[0] ?? '') : name;
  // Own properties only: `fleetstream constructor` is an unknown command, not Object's.
  const load = Object.hasOwn(commands, wanted) ? commands[wanted]!.load : undefined;
  if (name === 'help' && load === undefined) {
    process.stdout.write(help());
    return rest.length === 0 ? 0 : 2;
  }
  if (load === undefined) {
    process.stderr.write(`fleetstream: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const command = await load();
  if (name === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    process.stderr.write(`fleetstream ${name}: ${describeFailure(error)}\n`);
    if (process.env.FLEETSTREAM_DEBUG === '1' && error instanceof Error)
      process.stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}
