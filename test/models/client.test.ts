import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CircuitBreaker } from '../../models/client/breaker.ts';
import { createModelClient, type ModelCandidate } from '../../models/client/model-client.ts';
import type { RandomCutForest } from '../../models/rcf/forest.ts';
import { type ModelServer, startModelServer } from '../../models/serving/server.ts';
import { runtimeClient, trainedForest } from './helpers.ts';

type Mode = 'forward' | 'fail' | 'stall';

/**
 * Sits between the SDK and the model server and injects failures at the wire: `fail` answers 500
 * InternalFailure as SageMaker does, `stall` never answers. `hits` counts requests that reached it.
 */
async function startFaultyEndpoint(
  target: string,
): Promise<{ url: string; mode: Mode; hits: number; close(): Promise<void> }> {
  const stalled: ServerResponse[] = [];
  const state = { mode: 'forward' as Mode, hits: 0 };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    state.hits++;
    if (state.mode === 'stall') {
      stalled.push(res);
      return;
    }
    if (state.mode === 'fail') {
      res.writeHead(500, { 'Content-Type': 'application/json', 'x-amzn-errortype': 'InternalFailure' });
      res.end(JSON.stringify({ Message: 'injected failure' }));
      return;
    }
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers: { 'Content-Type': req.headers['content-type'] ?? '', Accept: req.headers.accept ?? '*/*' },
      body: Buffer.concat(chunks),
    });
    const headers: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection')
        headers[name] = value;
    });
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of stalled) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

class ManualClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
}

function candidates(count: number, inStreamScore: (i: number) => number): ModelCandidate[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `device-${i % 7}:r:${i}`,
    inStreamScore: inStreamScore(i),
    features: [(i % 10) / 10, ((i * 3) % 10) / 10],
  }));
}

describe('model client: gating, batching, breaker', () => {
  let forest: RandomCutForest;
  let server: ModelServer;
  let endpoint: Awaited<ReturnType<typeof startFaultyEndpoint>>;
  let runtime: SageMakerRuntimeClient;

  before(async () => {
    forest = trainedForest();
    server = await startModelServer({ model: forest, host: '127.0.0.1', port: 0 });
    endpoint = await startFaultyEndpoint(server.url);
    // One attempt per call so each injected failure is one breaker failure; retries are the SDK's business.
    runtime = runtimeClient(endpoint.url, 1);
  });
  after(async () => {
    runtime.destroy();
    await endpoint.close();
    await server.close();
  });

  it('sends only candidates and a deterministic sample, in one request per batch', async () => {
    const client = createModelClient({ runtime, gate: 0.5, sampleRate: 0.25 });
    const batch = candidates(400, (i) => (i % 10 === 0 ? 0.9 : 0.1));
    endpoint.mode = 'forward';
    const hitsBefore = endpoint.hits;
    const scores = await client.scoreBatch(batch);
    assert.equal(endpoint.hits - hitsBefore, 1, 'one InvokeEndpoint call for the whole batch');
    batch.forEach((c, i) => {
      if (c.inStreamScore >= 0.5)
        assert.equal(scores[i], forest.score(c.features), 'every candidate is scored');
      else if (scores[i] !== undefined) assert.equal(scores[i], forest.score(c.features));
    });
    const sampled = batch.filter((c, i) => c.inStreamScore < 0.5 && scores[i] !== undefined).length;
    // 360 non-candidates at 25 %: about 90 (the hash is fixed, so this is not a flaky draw).
    assert.ok(sampled > 60 && sampled < 120, `sampled ${sampled}`);
    assert.deepEqual(await client.scoreBatch(batch), scores, 'the same readings are sampled again');
    const m = client.metrics();
    assert.equal(m.invoked, 2 * (40 + sampled));
    assert.equal(m.skipped_gated, 2 * (360 - sampled));
    assert.equal(m.requests, 2);
    assert.equal(m.breaker_state, 'closed');
  });

  it('splits large selections into requests of maxRowsPerRequest rows', async () => {
    const client = createModelClient({ runtime, gate: 0, maxRowsPerRequest: 30 });
    endpoint.mode = 'forward';
    const hitsBefore = endpoint.hits;
    const batch = candidates(100, () => 1);
    const scores = await client.scoreBatch(batch);
    assert.equal(endpoint.hits - hitsBefore, 4);
    assert.deepEqual(
      scores,
      batch.map((c) => forest.score(c.features)),
    );
  });

  it('opens after consecutive failures, skips while open, probes after the cool-down, closes on success', async () => {
    const clock = new ManualClock();
    const client = createModelClient({
      runtime,
      gate: 0.5,
      sampleRate: 0,
      timeoutMs: 300,
      breaker: { failureThreshold: 2, cooldownMs: 10_000 },
      clock,
    });
    const batch = candidates(5, () => 0.8);

    endpoint.mode = 'fail';
    assert.deepEqual(await client.scoreBatch(batch), [undefined, undefined, undefined, undefined, undefined]);
    assert.equal(client.metrics().breaker_state, 'closed', 'one failure is not enough');
    await client.scoreBatch(batch);
    assert.equal(client.metrics().breaker_state, 'open');
    assert.equal(client.metrics().failures, 2);

    const hitsWhileOpen = endpoint.hits;
    endpoint.mode = 'forward';
    assert.deepEqual(await client.scoreBatch(batch), [undefined, undefined, undefined, undefined, undefined]);
    assert.equal(endpoint.hits, hitsWhileOpen, 'nothing is sent while open');
    assert.equal(client.metrics().skipped_open, 5);

    clock.t += 10_000;
    assert.equal(client.metrics().breaker_state, 'half-open');
    endpoint.mode = 'stall';
    assert.deepEqual(await client.scoreBatch(batch), [undefined, undefined, undefined, undefined, undefined]);
    assert.equal(client.metrics().timeouts, 1, 'the stalled probe is abandoned at the deadline');
    assert.equal(client.metrics().breaker_state, 'open', 'a failed probe re-opens');

    clock.t += 9_999;
    assert.equal(client.metrics().breaker_state, 'open', 'a full new cool-down');
    clock.t += 1;
    endpoint.mode = 'forward';
    const scores = await client.scoreBatch(batch);
    assert.deepEqual(
      scores,
      batch.map((c) => forest.score(c.features)),
    );
    assert.equal(client.metrics().breaker_state, 'closed');
  });

  it('an error answer (unknown endpoint) counts as a failure', async () => {
    // The endpoint name the server does not know: SageMaker answers ValidationError.
    const client = createModelClient({
      runtime,
      endpointName: 'missing',
      gate: 0,
      breaker: { failureThreshold: 1 },
    });
    endpoint.mode = 'forward';
    assert.deepEqual(await client.scoreBatch(candidates(2, () => 1)), [undefined, undefined]);
    assert.equal(client.metrics().failures, 1);
    assert.equal(client.metrics().breaker_state, 'open');
  });
});

describe('circuit breaker', () => {
  it('lets exactly one probe out while half-open', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 5 }, clock);
    breaker.onFailure();
    assert.equal(breaker.tryAcquire(), false);
    clock.t += 5;
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false, 'a second caller waits for the probe');
    breaker.onSuccess();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), true);
  });

  it('a success in between resets the consecutive-failure count', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 }, new ManualClock());
    breaker.onFailure();
    breaker.onSuccess();
    breaker.onFailure();
    assert.equal(breaker.state, 'closed');
    breaker.onFailure();
    assert.equal(breaker.state, 'open');
  });
});
