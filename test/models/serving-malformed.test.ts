/**
 * The model server against malformed invocations over raw HTTP: each gets a 4xx with a reason (or, through
 * InvokeEndpoint, SageMaker's ValidationError/ModelError), never a 500 or a 200 with nonsense, and the
 * server keeps serving on the same keep-alive connections afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_PAYLOAD_BYTES } from '../../models/serving/codec.ts';
import { type ModelServer, startModelServer } from '../../models/serving/server.ts';
import { trainedForest } from './helpers.ts';

describe('model server: malformed invocations', () => {
  let server: ModelServer;
  before(async () => {
    server = await startModelServer({ model: trainedForest(), host: '127.0.0.1', port: 0 });
  });
  after(() => server.close());

  async function post(path: string, contentType: string, body: string) {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': contentType },
      body,
    });
    const text = await res.text();
    return { status: res.status, errorType: res.headers.get('x-amzn-errortype'), text };
  }

  it('refuses a body without records instead of answering an empty score list', async () => {
    for (const [type, body] of [
      ['text/csv', ''],
      ['text/csv', '\n\n'],
      ['application/json', '{"instances":[]}'],
      ['application/jsonlines', '\n'],
    ] as const) {
      const answer = await post('/invocations', type, body);
      assert.equal(answer.status, 400, `${type} ${JSON.stringify(body)} → ${answer.text}`);
      assert.match(answer.text, /no records/);
    }
    const relayed = await post('/endpoints/fleetstream-rcf/invocations', 'text/csv', '');
    assert.equal(relayed.status, 424);
    assert.equal(relayed.errorType, 'ModelError');
  });

  it('takes CSV cells only as decimal numbers', async () => {
    for (const cell of ['0x10', '0b1', 'Infinity', '-Infinity', 'NaN', '1_0']) {
      const answer = await post('/invocations', 'text/csv', `${cell},1`);
      assert.equal(answer.status, 400, `${cell} → ${answer.text}`);
      assert.match(answer.text, /feature 0 is not a finite number/);
    }
    assert.equal((await post('/invocations', 'text/csv', '+1.5e-3,-.5')).status, 200);
  });

  it('refuses records whose finite values overflow the trees rather than answer score null', async () => {
    const csv = await post('/invocations', 'text/csv', '0.5,0.5\n1e308,-1e308');
    assert.equal(csv.status, 400, csv.text);
    assert.match(csv.text, /record 2: cannot be scored/);
    const json = await post(
      '/invocations',
      'application/json',
      '{"instances":[{"features":[1e308,-1e308]}]}',
    );
    assert.equal(json.status, 400, json.text);
  });

  it('answers a malformed %-escape in the endpoint name with ValidationError, not a 500', async () => {
    const answer = await post('/endpoints/%E0%A4%A/invocations', 'text/csv', '1,2');
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.errorType, 'ValidationError');
  });

  it('closes the connection after an oversized payload, so the next requests are served', async () => {
    const huge = 'a'.repeat(MAX_PAYLOAD_BYTES + 1024 * 1024);
    const refused = await post('/invocations', 'text/csv', huge);
    assert.equal(refused.status, 413);
    for (let i = 0; i < 3; i++) {
      const answer = await post('/invocations', 'text/csv', '1,2');
      assert.equal(answer.status, 200, `request ${i + 1} after the 413: ${answer.text}`);
    }
    assert.equal((await fetch(`${server.url}/ping`)).status, 200);
  });
});
