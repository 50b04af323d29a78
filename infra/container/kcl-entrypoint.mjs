// Container entrypoint of the KCL consumer: renders the MultiLangDaemon's .properties file from the
// record processor's template and the task's environment, then runs the daemon and forwards stop
// signals so it can shut its record processors down and release their leases.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderProperties } from './kcl-properties.mjs';

const TEMPLATE_DIR = process.env.KCL_TEMPLATE_DIR ?? '/app/templates';
const PROPERTIES_DIR = '/tmp/kcl';
const JAR_DIR = process.env.KCL_JAR_DIR ?? '/opt/kcl/jars';

function fail(message) {
  console.error(`kcl-entrypoint: ${message}`);
  process.exit(2);
}

const templates = readdirSync(TEMPLATE_DIR).filter((name) => name.endsWith('.properties'));
if (templates.length !== 1)
  fail(`expected one .properties template in ${TEMPLATE_DIR}, found ${templates.length}`);

let rendered;
try {
  rendered = renderProperties(
    readFileSync(join(TEMPLATE_DIR, templates[0]), 'utf8'),
    process.env,
    'node /app/multilang.mjs',
  );
} catch (error) {
  fail(error.message);
}
mkdirSync(PROPERTIES_DIR, { recursive: true });
const propertiesPath = join(PROPERTIES_DIR, 'consumer.properties');
writeFileSync(propertiesPath, rendered);

// The daemon also looks the properties file up on the classpath, hence its directory there.
const daemon = spawn(
  'java',
  [
    '-cp',
    `${JAR_DIR}/*:${PROPERTIES_DIR}`,
    'software.amazon.kinesis.multilang.MultiLangDaemon',
    '--properties-file',
    propertiesPath,
  ],
  { stdio: 'inherit' },
);
daemon.on('error', (error) => fail(`could not start java: ${error.message}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => daemon.kill(signal));
daemon.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
