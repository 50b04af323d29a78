import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, ModelError, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { SnapshotError } from '../../consumers/contract/errors.ts';
import type { RandomCutForest } from '../../models/rcf/forest.ts';
import { saveModel } from '../../models/serving/model-dir.ts';
import { type ModelServer, resolveServerPort, startModelServer } from '../../models/serving/server.ts';
import { runtimeClient, trainedForest } from './helpers.ts';

const rows = [
  [0.5, 0.5],
  [0.1, 0.9],
  [25, -3],
];

async function post(url: string, contentType: string, body: string, accept?: string) {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, ...(accept === undefined ? {} : { Accept: accept }) },
    body,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    json: (await res.json()) as Record<string, unknown>,
  };
}

describe('model server: SageMaker inference container contract', () => {
  let forest: RandomCutForest;
  let server: ModelServer;
  let expected: { score: number }[];

  before(async () => {
    forest = trainedForest();
    expected = rows.map((r) => ({ score: forest.score(r) }));
    server = await startModelServer({ model: forest, host: '127.0.0.1', port: 0 });
  });
  after(() => server.close());

  it('answers GET /ping with 200 once the model is loaded', async () => {
    const res = await fetch(`${server.url}/ping`);
    assert.equal(res.status, 200);
  });

  it('scores text/csv, one record per line, as {"scores":[{"score":x}]}', async () => {
    const answer = await post(server.url, 'text/csv', `${rows.map((r) => r.join(',')).join('\n')}\n`);
    assert.equal(answer.status, 200);
    assert.equal(answer.type, 'application/json');
    assert.deepEqual(answer.json, { scores: expected });
    assert.ok(expected[2]!.score > expected[0]!.score, 'the far point scores higher');
  });

  it('scores application/json {"instances":[{"features":[...]}]} and jsonlines the same', async () => {
    const json = await post(
      server.url,
      'application/json',
      JSON.stringify({ instances: rows.map((features) => ({ features })) }),
      'application/json',
    );
    assert.deepEqual(json.json, { scores: expected });
    const lines = await post(
      server.url,
      'application/jsonlines',
      rows.map((features) => JSON.stringify({ features })).join('\n'),
    );
    assert.deepEqual(lines.json, { scores: expected });
  });

  it('refuses bad input with a 4xx and a reason instead of crashing', async () => {
    const wrongWidth = await post(server.url, 'text/csv', '1,2,3');
    assert.equal(wrongWidth.status, 400);
    assert.match(String(wrongWidth.json.message), /expected 2 features, got 3/);
    assert.equal((await post(server.url, 'text/csv', '1,')).status, 400);
    assert.equal((await post(server.url, 'text/csv', '1,abc')).status, 400);
    assert.equal(
      (await post(server.url, 'application/json', '{"instances":[{"features":[1,null]}]}')).status,
      400,
    );
    assert.equal((await post(server.url, 'application/json', 'not json')).status, 400);
    assert.equal((await post(server.url, 'application/x-recordio-protobuf', '')).status, 415);
    assert.equal((await post(server.url, 'text/csv', '1,2', 'text/csv')).status, 406);
    assert.equal((await fetch(`${server.url}/nothing`)).status, 404);
    assert.equal((await fetch(`${server.url}/ping`)).status, 200, 'still serving after bad requests');
  });

  it('answers InvokeEndpoint to the real SageMaker Runtime client', async () => {
    const client = runtimeClient(server.url);
    const out = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'fleetstream-rcf',
        ContentType: 'text/csv',
        Accept: 'application/json',
        Body: new TextEncoder().encode(rows.map((r) => r.join(',')).join('\n')),
      }),
    );
    assert.equal(out.ContentType, 'application/json');
    assert.equal(out.InvokedProductionVariant, 'AllTraffic');
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.Body)), { scores: expected });
    client.destroy();
  });

  it('relays container errors as ModelError and unknown endpoints as ValidationError, as SageMaker does', async () => {
    const client = runtimeClient(server.url);
    await assert.rejects(
      client.send(
        new InvokeEndpointCommand({
          EndpointName: 'fleetstream-rcf',
          ContentType: 'text/csv',
          Body: new TextEncoder().encode('1'),
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.equal(error.OriginalStatusCode, 400);
        assert.match(error.OriginalMessage ?? '', /expected 2 features/);
        return true;
      },
    );
    await assert.rejects(
      client.send(
        new InvokeEndpointCommand({
          EndpointName: 'other',
          ContentType: 'text/csv',
          Body: new TextEncoder().encode('1,2'),
        }),
      ),
      ValidationError,
    );
    client.destroy();
  });
});

describe('model server: model directory and port', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetstream-model-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loads model.json from the model directory and scores exactly as the saved forest', async () => {
    const forest = trainedForest(3);
    await saveModel(dir, forest);
    const server = await startModelServer({ modelDir: dir, host: '127.0.0.1', port: 0 });
    try {
      const answer = await post(server.url, 'text/csv', '0.2,0.4,9');
      assert.deepEqual(answer.json, { scores: [{ score: forest.score([0.2, 0.4, 9]) }] });
    } finally {
      await server.close();
    }
  });

  it('refuses to start without a readable model', async () => {
    await assert.rejects(
      startModelServer({ modelDir: join(dir, 'missing'), host: '127.0.0.1', port: 0 }),
      SnapshotError,
    );
  });

  it('honours SAGEMAKER_BIND_TO_PORT and defaults to 8080', () => {
    assert.equal(resolveServerPort(undefined, {}), 8080);
    assert.equal(resolveServerPort(undefined, { SAGEMAKER_BIND_TO_PORT: '9090' }), 9090);
    assert.equal(resolveServerPort(0, { SAGEMAKER_BIND_TO_PORT: '9090' }), 0);
    assert.throws(() => resolveServerPort(undefined, { SAGEMAKER_BIND_TO_PORT: 'eighty' }), RangeError);
  });
});
