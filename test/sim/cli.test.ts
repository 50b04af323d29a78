import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type EventLine, expectedAccounting, readGroundTruth } from '../../sim/ground-truth.ts';
import { startWireEndpoint, type WireEndpoint } from './wire-endpoint.ts';

const run = promisify(execFile);

describe('fleetstream simulate', () => {
  let endpoint: WireEndpoint;
  let dir: string;
  before(async () => {
    endpoint = await startWireEndpoint();
    dir = mkdtempSync(join(tmpdir(), 'fleetstream-sim-'));
  });
  after(async () => {
    await endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends to the given endpoints, writes the ground truth and prints one JSON summary line', async () => {
    const file = join(dir, 'truth.ndjson');
    const { stdout, stderr } = await run(process.execPath, [
      'bin/fleetstream.js',
      'simulate',
      ...['--devices', '4', '--rate', 'max', '--readings', '60', '--seed', 'cli'],
      ...['--endpoint', endpoint.url, '--kinesis-endpoint', endpoint.url, '--ground-truth', file, '--json'],
    ]);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const summary = JSON.parse(lines[0] as string) as {
      delivered: number;
      records: number;
      dropped: number;
      expected: ReturnType<typeof expectedAccounting>;
    };
    assert.match(stderr, /simulate \d+\/\d+/);
    assert.equal(summary.delivered, endpoint.accepted.length);
    assert.equal(summary.delivered, summary.records - summary.dropped);

    const truth = await readGroundTruth(file);
    assert.equal(truth[0]?.type, 'run');
    assert.equal(truth.at(-1)?.type, 'end');
    const events = truth.filter((l): l is EventLine => l.type === 'event');
    assert.equal(events.length, summary.records);
    assert.ok(truth.some((l) => l.type === 'fault'));
    assert.deepEqual(expectedAccounting(truth), summary.expected);
  });

  it('rejects a bad flag value with exit code 2 and a clear message', async () => {
    await assert.rejects(
      run(process.execPath, ['bin/fleetstream.js', 'simulate', '--faults', 'most']),
      (error) => {
        const e = error as { code: number; stderr: string };
        assert.equal(e.code, 2);
        assert.match(e.stderr, /--faults must be one of/);
        return true;
      },
    );
  });
});
