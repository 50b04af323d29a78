// Container entrypoint of the KCL consumer: writes the MultiLangDaemon's .properties file from the
// template shipped with the record processor plus the task's environment (stream, lease table, region
// differ per deployment), then runs the daemon and forwards stop signals so leases are released cleanly.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TEMPLATE_DIR = process.env.KCL_TEMPLATE_DIR ?? '/app/templates';
const PROPERTIES_PATH = '/tmp/kcl/consumer.properties';
const JAR_DIR = process.env.KCL_JAR_DIR ?? '/opt/kcl/jars';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`kcl-entrypoint: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

function readTemplate() {
  const names = readdirSync(TEMPLATE_DIR).filter((name) => name.endsWith('.properties'));
  if (names.length !== 1) {
    console.error(
      `kcl-entrypoint: expected one .properties template in ${TEMPLATE_DIR}, found ${names.length}`,
    );
    process.exit(2);
  }
  const entries = new Map();
  for (const raw of readFileSync(join(TEMPLATE_DIR, names[0]), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const separator = line.indexOf('=');
    if (separator > 0) entries.set(line.slice(0, separator).trim(), line.slice(separator + 1).trim());
  }
  return entries;
}

const properties = readTemplate();
// Deployment-specific keys always come from the task, never from the template.
properties.set('executableName', 'node /app/multilang.mjs');
properties.set('streamName', required('KCL_STREAM_NAME'));
properties.set('applicationName', required('KCL_APPLICATION_NAME'));
properties.set('regionName', required('AWS_REGION'));
properties.set('initialPositionInStream', process.env.KCL_INITIAL_POSITION ?? 'TRIM_HORIZON');
properties.set('retrievalMode', process.env.KCL_RETRIEVAL_MODE ?? 'POLLING');
for (const key of ['kinesisEndpoint', 'dynamoDBEndpoint']) properties.delete(key);

mkdirSync('/tmp/kcl', { recursive: true });
writeFileSync(PROPERTIES_PATH, `${[...properties].map(([key, value]) => `${key} = ${value}`).join('\n')}\n`);

const daemon = spawn(
  'java',
  [
    '-cp',
    `${JAR_DIR}/*:/tmp/kcl`,
    'software.amazon.kinesis.multilang.MultiLangDaemon',
    '--properties-file',
    PROPERTIES_PATH,
  ],
  { stdio: 'inherit' },
);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => daemon.kill(signal));
daemon.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
