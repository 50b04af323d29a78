import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  initialPositionProperties,
  parseProperties,
  renderProperties,
} from '../../infra/container/kcl-properties.mjs';

// The record processor's own template: the container renders exactly this file.
const TEMPLATE = readFileSync(
  path.join(import.meta.dirname, '..', '..', 'consumers', 'runtimes', 'multilang', 'fleetstream.properties'),
  'utf8',
);
const TASK_ENV = {
  KCL_STREAM_NAME: 'fleetstream-telemetry',
  KCL_APPLICATION_NAME: 'fleetstream-multilang',
  AWS_REGION: 'eu-west-1',
  KCL_INITIAL_POSITION: 'TRIM_HORIZON',
  KCL_RETRIEVAL_MODE: 'POLLING',
};

describe('KCL properties for the container', () => {
  it('takes the deployment keys from the task and keeps the template’s tuning', () => {
    const rendered = parseProperties(renderProperties(TEMPLATE, TASK_ENV, 'node /app/multilang.mjs'));
    const template = parseProperties(TEMPLATE);
    assert.equal(rendered.get('executableName'), 'node /app/multilang.mjs');
    assert.equal(rendered.get('streamName'), 'fleetstream-telemetry');
    assert.equal(rendered.get('applicationName'), 'fleetstream-multilang');
    assert.equal(rendered.get('regionName'), 'eu-west-1');
    assert.equal(rendered.get('retrievalMode'), 'POLLING');
    assert.equal(rendered.get('initialPositionInStream'), 'TRIM_HORIZON');
    for (const key of ['maxRecords', 'idleTimeBetweenReadsInMillis', 'failoverTimeMillis']) {
      assert.equal(rendered.get(key), template.get(key), key);
    }
    assert.ok(![...rendered.values()].some((value) => value.includes('<')), 'no placeholder left');
  });

  it('drops local endpoint overrides so the daemon talks to the regional AWS endpoints', () => {
    const local = `${TEMPLATE}\nkinesisEndpoint = http://127.0.0.1:4567\ndynamoDBEndpoint = http://127.0.0.1:4568\n`;
    const rendered = parseProperties(renderProperties(local, TASK_ENV, 'node x.mjs'));
    assert.equal(rendered.has('kinesisEndpoint'), false);
    assert.equal(rendered.has('dynamoDBEndpoint'), false);
  });

  it('starts a replay at AT_TIMESTAMP through initialPositionInStreamExtended, in whole seconds', () => {
    const env = {
      ...TASK_ENV,
      KCL_INITIAL_POSITION: 'AT_TIMESTAMP',
      KCL_INITIAL_TIMESTAMP: '2025-11-23T18:00:00.999Z',
    };
    const rendered = parseProperties(renderProperties(TEMPLATE, env, 'node x.mjs'));
    assert.equal(
      rendered.get('initialPositionInStreamExtended'),
      String(Date.parse('2025-11-23T18:00:00Z') / 1000),
    );
    // The daemon refuses initialPositionInStream = AT_TIMESTAMP, and both keys set one field in no set order.
    assert.equal(rendered.has('initialPositionInStream'), false);
    assert.deepEqual(initialPositionProperties({ KCL_INITIAL_POSITION: 'LATEST' }), {
      initialPositionInStream: 'LATEST',
    });
  });

  it('drops a template timestamp when the task starts at TRIM_HORIZON or LATEST', () => {
    const template = `${TEMPLATE}\ninitialPositionInStreamExtended = 1700000000\n`;
    const rendered = parseProperties(renderProperties(template, TASK_ENV, 'node x.mjs'));
    assert.equal(rendered.has('initialPositionInStreamExtended'), false);
    assert.equal(rendered.get('initialPositionInStream'), 'TRIM_HORIZON');
  });

  it('refuses an unknown position and AT_TIMESTAMP without a usable instant', () => {
    const atTimestamp = { ...TASK_ENV, KCL_INITIAL_POSITION: 'AT_TIMESTAMP' };
    for (const [env, message] of [
      [{ ...TASK_ENV, KCL_INITIAL_POSITION: 'AT_SEQUENCE_NUMBER' }, /KCL_INITIAL_POSITION must be one of/],
      [atTimestamp, /KCL_INITIAL_TIMESTAMP must be an ISO-8601 UTC instant/],
      [{ ...atTimestamp, KCL_INITIAL_TIMESTAMP: '1700000000' }, /KCL_INITIAL_TIMESTAMP/],
      [{ ...atTimestamp, KCL_INITIAL_TIMESTAMP: '2025-11-23T18:00:00' }, /KCL_INITIAL_TIMESTAMP/],
      [{ ...atTimestamp, KCL_INITIAL_TIMESTAMP: '2025-02-30T00:00:00Z' }, /KCL_INITIAL_TIMESTAMP/],
      [{ ...atTimestamp, KCL_INITIAL_TIMESTAMP: '2025-11-23T18:00:00+01:00' }, /KCL_INITIAL_TIMESTAMP/],
    ] as const) {
      assert.throws(() => renderProperties(TEMPLATE, env, 'node x.mjs'), message);
    }
  });

  it('refuses to start without the stream, application or region', () => {
    for (const missing of ['KCL_STREAM_NAME', 'KCL_APPLICATION_NAME', 'AWS_REGION']) {
      const env: Record<string, string | undefined> = { ...TASK_ENV, [missing]: undefined };
      assert.throws(() => renderProperties(TEMPLATE, env, 'node x.mjs'), new RegExp(missing));
    }
  });
});
