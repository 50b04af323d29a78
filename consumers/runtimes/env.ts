/**
 * Reading the environment at start-up, shared by every entry that parses its configuration once (consumer
 * runtimes, correction functions): a value that is set but unusable stops the start with a ConfigError.
 */
import type { AwsServiceName } from '../aws/clients.ts';
import { ConfigError } from '../contract/errors.ts';

const ENDPOINT_SERVICES: readonly AwsServiceName[] = [
  'kinesis',
  'dynamodb',
  's3',
  'firehose',
  'sqs',
  'sagemakerRuntime',
];

/** The variable's value, `fallback` when unset; set but blank is a ConfigError (a typo, not a default). */
export function nonEmpty(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name];
  if (value === undefined) return fallback;
  if (value.trim() === '') throw new ConfigError(`${name} is set but empty`);
  return value;
}

/** Env `FLEETSTREAM_ENDPOINT_<SERVICE>` for every service that has one. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<AwsServiceName, string>> {
  const endpoints: Partial<Record<AwsServiceName, string>> = {};
  for (const service of ENDPOINT_SERVICES) {
    const value = env[`FLEETSTREAM_ENDPOINT_${service.toUpperCase()}`];
    if (value === undefined) continue;
    if (!/^https?:\/\//.test(value))
      throw new ConfigError(`FLEETSTREAM_ENDPOINT_${service.toUpperCase()} must be a URL`);
    endpoints[service] = value;
  }
  return endpoints;
}
