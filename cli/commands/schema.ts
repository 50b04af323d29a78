import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TelemetryEventSchema } from '../../consumers/contract/telemetry.ts';
import type { CliCommand } from '../command.ts';

/** The JSON Schema of the telemetry event, as published to the EventBridge schema registry. */
export function telemetryJsonSchema(): string {
  const schema = { $schema: 'http://json-schema.org/draft-07/schema#', ...TelemetryEventSchema };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

export const schemaCommand: CliCommand = {
  name: 'schema',
  usage: 'fleetstream schema [--output FILE]\n  Prints the JSON Schema of the telemetry event.',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { output: { type: 'string', short: 'o' } } });
    const text = telemetryJsonSchema();
    if (values.output === undefined) process.stdout.write(text);
    else writeFileSync(values.output, text);
    return 0;
  },
};
