/**
 * The `fleetstream` command line. Subcommands load lazily so `--help` and small commands start fast.
 */
import type { CliCommand } from './command.ts';

const commands: Record<string, () => Promise<CliCommand>> = {
  local: async () => (await import('./commands/local.ts')).localCommand,
  corrections: async () => (await import('./commands/corrections.ts')).correctionsCommand,
  score: async () => (await import('./commands/score.ts')).scoreCommand,
  simulate: async () => (await import('./commands/simulate.ts')).simulateCommand,
  start: async () => (await import('./commands/start.ts')).startCommand,
  replay: async () => (await import('./commands/replay.ts')).replayCommand,
  schema: async () => (await import('./commands/schema.ts')).schemaCommand,
  'serve-model': async () => (await import('./commands/serve-model.ts')).serveModelCommand,
  'train-model': async () => (await import('./commands/train-model.ts')).trainModelCommand,
};

function help(): string {
  const names = Object.keys(commands).sort();
  return [
    'fleetstream: IoT fleet telemetry → trustworthy results on AWS',
    '',
    'Usage: fleetstream <command> [options]   (fleetstream <command> --help for details)',
    '',
    'Commands:',
    ...names.map((name) => `  ${name}`),
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return 0;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(`fleetstream: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}
