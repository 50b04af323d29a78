/** Option parsing shared by the `fleetstream` subcommands: numbers and the `--stack` line. */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../consumers/contract/errors.ts';
import type { ResourceNames } from '../local/resources.ts';

/** An integer flag in [min, max], or undefined when the flag was not given. */
export function integerOption(
  name: string,
  text: string | undefined,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`--${name} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

/** A positive number flag, or undefined when the flag was not given. */
export function positiveOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`--${name} must be a positive number, got '${text}'`);
  }
  return value;
}

/** The JSON line `fleetstream local` prints: how to reach a running embedded stack. */
export interface StackLine {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly endpoints: Readonly<Record<string, string>>;
  readonly resources?: { readonly names?: Partial<ResourceNames> };
}

/**
 * Reads `--stack`: the line itself, or a file holding it. `needs` names the endpoints the command uses, so a
 * line from another tool fails here with a clear message rather than later with a connection error.
 */
export function readStackLine(text: string, needs: readonly string[]): StackLine {
  let json = text;
  if (!text.trimStart().startsWith('{')) {
    try {
      json = readFileSync(text, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `--stack: '${text}' is neither the JSON line \`fleetstream local\` prints nor a file holding it ` +
          `(${(error as Error).message})`,
      );
    }
  }
  let line: Partial<StackLine>;
  try {
    line = JSON.parse(json) as Partial<StackLine>;
  } catch {
    throw new ConfigError('--stack: expected the JSON line `fleetstream local` prints (not JSON)');
  }
  if (
    typeof line !== 'object' ||
    line === null ||
    Array.isArray(line) ||
    typeof line.region !== 'string' ||
    typeof line.credentials?.accessKeyId !== 'string' ||
    typeof line.credentials.secretAccessKey !== 'string' ||
    needs.some((service) => typeof line.endpoints?.[service] !== 'string')
  ) {
    throw new ConfigError(
      `--stack: expected the JSON line \`fleetstream local\` prints, with endpoints for ${needs.join(', ')}`,
    );
  }
  return line as StackLine;
}
