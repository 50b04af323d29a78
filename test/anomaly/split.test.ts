import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadCorpus, NAB_DIR } from '../../bench/anomaly/corpus.ts';
import { categoryOf, parseHalf, splitHalves } from '../../bench/anomaly/split.ts';
import { fnv1a } from '../../consumers/contract/hash.ts';

const names = [
  'catA/one.csv',
  'catA/two.csv',
  'catA/three.csv',
  'catB/alpha.csv',
  'catB/beta.csv',
  'catB/gamma.csv',
  'catB/delta.csv',
  'catC/solo.csv',
];

describe('NAB corpus split', () => {
  it('hashes with 32-bit FNV-1a (published test vectors)', () => {
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
  });

  it('assigns every file, stratified: within a category the halves differ by at most one file', () => {
    const halves = splitHalves(names);
    assert.equal(halves.size, names.length);
    for (const category of new Set(names.map(categoryOf))) {
      const members = names.filter((n) => categoryOf(n) === category);
      const inA = members.filter((n) => halves.get(n) === 'a').length;
      assert.ok(Math.abs(inA - (members.length - inA)) <= 1, `${category}: ${inA} of ${members.length} in a`);
    }
  });

  it('depends on the names only, not on their order', () => {
    const forward = splitHalves(names);
    const backward = splitHalves(names.slice().reverse());
    for (const name of names) assert.equal(backward.get(name), forward.get(name));
  });

  it('accepts only a and b', () => {
    assert.equal(parseHalf('a'), 'a');
    assert.equal(parseHalf(undefined), undefined);
    assert.throws(() => parseHalf('c'), /'a' or 'b'/);
  });

  it('partitions the NAB corpus, and --only never moves a file to the other half', {
    skip: !existsSync(path.join(NAB_DIR, 'labels', 'combined_windows.json')),
  }, () => {
    const all = loadCorpus();
    const a = loadCorpus({ half: 'a' });
    const b = loadCorpus({ half: 'b' });
    assert.equal(a.length + b.length, all.length);
    assert.ok(a.length > 0 && b.length > 0);
    assert.deepEqual(
      [...a, ...b].map((s) => s.name).sort(),
      all.map((s) => s.name),
    );
    const one = all.find((s) => s.half === 'b')!;
    const filtered = loadCorpus({ only: one.name });
    assert.equal(filtered.length, 1);
    assert.equal(filtered[0]!.half, 'b');
  });
});
