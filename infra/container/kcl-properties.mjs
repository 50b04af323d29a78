// Renders the MultiLangDaemon's .properties file: the record processor's template
// (consumers/runtimes/multilang/fleetstream.properties) with the deployment-specific keys replaced
// by the task's environment. Plain JavaScript: it runs in the container, where there is no TypeScript.

/** Keys that always come from the task, never from the template (they differ per deployment). */
const REQUIRED_ENV = {
  streamName: 'KCL_STREAM_NAME',
  applicationName: 'KCL_APPLICATION_NAME',
  regionName: 'AWS_REGION',
};

/** Template keys that point the daemon at local endpoints; in AWS the SDK's regional ones are right. */
const LOCAL_ONLY_KEYS = ['kinesisEndpoint', 'dynamoDBEndpoint', 'cloudWatchEndpoint'];

const INITIAL_POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'];
/** What Date.prototype.toISOString writes (the CDK app passes that), with or without milliseconds. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

/**
 * The daemon's start keys for `KCL_INITIAL_POSITION` (and `KCL_INITIAL_TIMESTAMP`, an ISO-8601 UTC instant,
 * for AT_TIMESTAMP). KCL 2.x's MultiLangDaemonConfiguration refuses `initialPositionInStream = AT_TIMESTAMP`;
 * a timestamp goes in `initialPositionInStreamExtended` as epoch seconds (its converter multiplies by 1000).
 * Both keys set the same field and a Properties file has no order, so exactly one of them is written.
 */
export function initialPositionProperties(env) {
  const position = env.KCL_INITIAL_POSITION ?? 'TRIM_HORIZON';
  if (!INITIAL_POSITIONS.includes(position)) {
    throw new Error(`KCL_INITIAL_POSITION must be one of ${INITIAL_POSITIONS.join(', ')}, got '${position}'`);
  }
  if (position !== 'AT_TIMESTAMP') return { initialPositionInStream: position };
  const text = env.KCL_INITIAL_TIMESTAMP ?? '';
  const ms = Date.parse(text);
  // The round trip catches instants Date.parse rolls over (February 30 → March 2).
  if (
    !ISO_UTC.test(text) ||
    Number.isNaN(ms) ||
    new Date(ms).toISOString().slice(0, 19) !== text.slice(0, 19)
  ) {
    throw new Error(`KCL_INITIAL_TIMESTAMP must be an ISO-8601 UTC instant for AT_TIMESTAMP, got '${text}'`);
  }
  // Rounded down: starting up to a second early only repeats records (same output ids), never skips one.
  return { initialPositionInStreamExtended: String(Math.floor(ms / 1000)) };
}

export function parseProperties(text) {
  const entries = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const separator = line.indexOf('=');
    if (separator > 0) entries.set(line.slice(0, separator).trim(), line.slice(separator + 1).trim());
  }
  return entries;
}

export function renderProperties(templateText, env, executableName) {
  const properties = parseProperties(templateText);
  for (const [key, variable] of Object.entries(REQUIRED_ENV)) {
    const value = env[variable];
    if (!value) throw new Error(`environment variable ${variable} is required (for ${key})`);
    properties.set(key, value);
  }
  properties.set('executableName', executableName);
  properties.delete('initialPositionInStreamExtended');
  const start = initialPositionProperties(env);
  if (start.initialPositionInStream === undefined) properties.delete('initialPositionInStream');
  for (const [key, value] of Object.entries(start)) properties.set(key, value);
  properties.set('retrievalMode', env.KCL_RETRIEVAL_MODE ?? 'POLLING');
  for (const key of LOCAL_ONLY_KEYS) properties.delete(key);
  return `${[...properties].map(([key, value]) => `${key} = ${value}`).join('\n')}\n`;
}
