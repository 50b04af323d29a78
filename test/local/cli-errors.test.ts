import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'fleetstream.js');

function fleetstream(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** A Node stack trace line: what a user must never be handed for their own mistake. */
const TRACE = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('fleetstream --help', () => {
  it('lists every command with its summary, and each command loads and prints its own usage', async () => {
    const result = fleetstream(['--help']);
    assert.equal(result.status, 0, result.stderr);
    const listed = [...result.stdout.matchAll(/^ {2}([a-z-]+) {2,}(\S.*)$/gm)].map(([, name, summary]) => ({
      name: name!,
      summary: summary!,
    }));
    assert.deepEqual(
      listed.map((entry) => entry.name),
      [
        'corrections',
        'local',
        'replay',
        'schema',
        'score',
        'serve-model',
        'simulate',
        'start',
        'train-model',
      ],
    );
    assert.ok(listed.every((entry) => entry.summary.length > 20));
    const usages = await Promise.all(
      listed.map(({ name }) =>
        promisify(execFile)(process.execPath, [bin, name, '--help'], { encoding: 'utf8', timeout: 30_000 }),
      ),
    );
    usages.forEach(({ stdout }, i) => {
      assert.ok(stdout.startsWith(`fleetstream ${listed[i]!.name} `), stdout.split('\n')[0]);
    });
    assert.equal(fleetstream(['constructor']).status, 2);
  });
});

describe('fleetstream on bad input', () => {
  it('answers a mistake with one clear line and exit 2, before starting anything', () => {
    const cases: [string[], RegExp][] = [
      [['local', '--bogus'], /^fleetstream local: Unknown option '--bogus'/],
      [['schema', '--bogus'], /^fleetstream schema: Unknown option '--bogus'/],
      [['serve-model', 'extra'], /^fleetstream serve-model: .*argument/],
      [['simulate', '--endpoint', 'notaurl'], /--endpoint must be a URL, got 'notaurl'/],
      [['replay', '--stack', '/nonexistent/stack.json'], /--stack: '\/nonexistent\/stack.json' is neither/],
      [
        [
          'replay',
          '--stack',
          '{"region":"r","credentials":{"accessKeyId":"a","secretAccessKey":"s"},"endpoints":{"kinesis":"http://127.0.0.1:9"}}',
          '--shards',
          ',,',
        ],
        /--shards names no shard/,
      ],
      [['start', '--ground-truth', '/nonexistent/dir/truth.ndjson'], /cannot write the ground truth to/],
      [['start', '--duration', '100000'], /more than half the fleet's maximum event age/],
      [['start', '--model-metrics', 'temperatureC'], /--model-metrics needs --model-dir/],
      [['corrections', 'bogus'], /^fleetstream corrections: unknown action 'bogus'/],
      [
        ['train-model', '--num-trees', '0', '--output', '/nonexistent/model'],
        /--num-trees must be an integer from 1 to 10000/,
      ],
    ];
    for (const [args, message] of cases) {
      const started = performance.now();
      const result = fleetstream(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.doesNotMatch(result.stderr, TRACE, args.join(' '));
      // `start` refuses these while parsing: no embedded stack was started (that takes seconds).
      assert.ok(performance.now() - started < 10_000, `${args.join(' ')} answered quickly`);
    }
    assert.ok(!existsSync('/nonexistent/dir/truth.ndjson'));
  });

  it('reports a failure it cannot recover from (a missing file) without a stack trace, exit 1', () => {
    for (const args of [
      ['score', '--input', '/nonexistent/series.csv'],
      ['serve-model', '--model-dir', '/nonexistent/model', '--port', '0'],
    ]) {
      const result = fleetstream(args);
      assert.equal(result.status, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^fleetstream ${args[0]}: .*ENOENT`));
      assert.doesNotMatch(result.stderr, TRACE);
    }
  });
});
