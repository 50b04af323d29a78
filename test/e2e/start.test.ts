import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { expectedAccounting, readGroundTruth } from '../../sim/ground-truth.ts';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function fleetstream(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fleetstream.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('fleetstream start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetstream-start-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accounts for every record exactly as the ground truth predicts, category by category', async () => {
    const groundTruthPath = join(dir, 'truth.ndjson');
    const run = await fleetstream([
      'start',
      '--devices',
      '6',
      '--duration',
      '5',
      '--rate',
      '120',
      '--shards',
      '2',
      '--workers',
      '2',
      '--seed',
      '7',
      '--json-summary',
      '--ground-truth',
      groundTruthPath,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'stdout holds exactly one JSON line');
    const summary = JSON.parse(lines[0] as string);

    // The prediction comes from the ground truth file, not from the summary's own comparison.
    const expected = expectedAccounting(await readGroundTruth(groundTruthPath));
    assert.ok(expected.rejected > 0 && expected.duplicates > 0 && expected.missing > 0, 'the run has faults');
    assert.deepEqual(summary.accounting, {
      sent: expected.sent,
      results: expected.accepted,
      rejected: expected.rejected,
      deadLettered: 0,
      duplicates: expected.duplicates,
      unaccounted: 0,
      balanced: true,
    });
    assert.deepEqual(
      summary.rejectsByReason,
      Object.fromEntries(Object.entries(expected.rejectedByReason).sort()),
    );
    assert.equal(summary.groundTruth.categories.missing.observed, expected.missing + expected.gapsFilled);
    assert.equal(summary.groundTruth.matches, true);
    assert.equal(summary.results.byKind.reading, expected.accepted);
    assert.ok(summary.results.prefixes['results/'] > 0 && summary.results.prefixes['raw/'] > 0);
    // Live progress went to stderr, plain lines since stderr is not a terminal here.
    assert.match(run.stderr, /^simulating .* sent \d+\/\d+ {2}in \d+/m);
  });

  it('with --model-dir: trains a model on a fault-free run, serves it, and every alarm gets a model review', async () => {
    const modelDir = join(dir, 'model');
    const args = [
      'start',
      '--devices',
      '6',
      '--duration',
      '6',
      '--rate',
      '120',
      '--seed',
      '3',
      '--json-summary',
    ];
    const run = await fleetstream([...args, '--model-dir', modelDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(join(modelDir, 'model.json')), 'the trained model was saved');
    assert.match(run.stderr, /model trained: \{"objects":\d+/);
    const summary = JSON.parse(run.stdout.trim());
    assert.equal(summary.accounting.balanced, true);
    const { model, results } = summary;
    assert.ok(model.requests > 0 && model.invoked >= model.requests, JSON.stringify(model));
    assert.equal(model.failures, 0);
    // One review per alarmed reading, whatever the verdict.
    const alarmedReadings = results.byKind['model-review'] as number;
    assert.ok(alarmedReadings > 0);
    assert.equal(model.confirmed + model.dismissed + model.inStreamOnly, alarmedReadings);
    const withheld = model.withheldRequests as number;
    assert.ok(withheld <= model.dismissed);
  });

  it('rejects a bad flag with usage and exit code 2', async () => {
    const run = await fleetstream(['start', '--faults', 'lots']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--faults must be one of/);
    assert.equal(run.stdout, '');
  });
});
