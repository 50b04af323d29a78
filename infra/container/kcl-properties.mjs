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
  properties.set('initialPositionInStream', env.KCL_INITIAL_POSITION ?? 'TRIM_HORIZON');
  properties.set('retrievalMode', env.KCL_RETRIEVAL_MODE ?? 'POLLING');
  for (const key of LOCAL_ONLY_KEYS) properties.delete(key);
  return `${[...properties].map(([key, value]) => `${key} = ${value}`).join('\n')}\n`;
}
