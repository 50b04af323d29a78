import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createMetricAnomalyScorer } from '../../anomaly/scorer.ts';
import { parseSeriesCsv } from '../../anomaly/series-csv.ts';
import { noise } from './series.ts';

const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'fleetstream.js');
const dir = mkdtempSync(path.join(tmpdir(), 'fleetstream-score-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A NAB-style file: CRLF, 5-minute rows, a spike, a stuck run and one unreadable value. */
function nabCsv(): string {
  const values = noise(400, 40, 2, 21).map((v) => v.toFixed(3));
  values[300] = '95.5';
  for (let i = 340; i < 370; i++) values[i] = values[339]!;
  values[320] = 'n/a';
  const rows = values.map((v, i) => {
    const t = new Date(Date.UTC(2014, 3, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    return `${t},${v}`;
  });
  return `timestamp,value\r\n${rows.join('\r\n')}\r\n`;
}

function fleetstream(args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8' });
}

describe('fleetstream score', () => {
  const csv = nabCsv();

  it('writes timestamp,value,anomaly_score per input row, in order, as slot 0 of the stream scorer', () => {
    const result = fleetstream(['score'], csv);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'timestamp,value,anomaly_score');
    const input = parseSeriesCsv(csv);
    assert.equal(lines.length, input.length + 1);

    const scorer = createMetricAnomalyScorer();
    scorer.ensureCapacity(1);
    input.forEach((row, i) => {
      const [timestamp, value, score] = lines[i + 1]!.split(',');
      assert.equal(timestamp, row.timestamp);
      assert.equal(value, row.valueText);
      assert.equal(Number(score), scorer.update(0, row.tsMs, row.value));
      assert.ok(Number(score) >= 0 && Number(score) <= 1);
    });
    const scores = lines.slice(1).map((l) => Number(l.split(',')[2]));
    assert.ok(scores[300]! >= scorer.threshold, 'the spike is an anomaly');
    assert.equal(scores[320], 0, 'an unreadable value scores 0');
  });

  it('reads --input, writes --output and takes detector settings as options', () => {
    const input = path.join(dir, 'in.csv');
    const output = path.join(dir, 'out.csv');
    writeFileSync(input, csv);
    const result = fleetstream(['score', '--input', input, '--output', output, '--warmup-readings', '350']);
    assert.equal(result.status, 0, result.stderr);
    const scores = readFileSync(output, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[2]));
    assert.ok(
      scores.slice(0, 350).every((s) => s === 0),
      'no score during the longer warm-up',
    );
    assert.ok(scores.slice(350).some((s) => s > 0));

    const bad = fleetstream(['score', '--input', input, '--threshold', '2']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--threshold: must be in \(0, 1\)/);
    const notANumber = fleetstream(['score', '--input', input, '--cooldown-readings', '0x10']);
    assert.equal(notANumber.status, 2);
    assert.match(notANumber.stderr, /--cooldown-readings must be a number, got '0x10'/);
    const noHeader = fleetstream(['score'], '2014-04-01 00:00:00,1\n');
    assert.equal(noHeader.status, 1);
    assert.match(noHeader.stderr, /SERIES_FORMAT/);
  });

  it('refuses timestamps that name no real instant, and says which values it could not read', () => {
    for (const timestamp of ['2014-02-30 00:00:00', '5', '12/31/2014', '2014-04-01 24:00:00']) {
      const result = fleetstream(['score'], `timestamp,value\n2014-04-01 00:00:00,1\n${timestamp},2\n`);
      assert.equal(result.status, 1, timestamp);
      assert.match(result.stderr, new RegExp(`SERIES_FORMAT: line 3: '${timestamp}' is not a timestamp`));
    }
    const values = ['1', 'abc', '0x10', '', '1e999', '-2.5e3'];
    const rows = values.map((v, i) => `2014-04-01 00:0${i}:00,${v}`).join('\n');
    const result = fleetstream(['score'], `timestamp,value\n${rows}\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trimEnd().split('\n').length, values.length + 1, 'one row out per row in');
    assert.match(result.stderr, /4 row\(s\) hold no finite number \(first: line 3, 'abc'\)/);
    assert.doesNotMatch(result.stderr, /back in time/);
    const backwards = fleetstream(['score'], `timestamp,value\n${rows}\n2014-04-01 00:01:30,1\n`);
    assert.equal(backwards.status, 0, backwards.stderr);
    assert.match(backwards.stderr, /timestamps go back in time \(first: line 8\)/);
    assert.deepEqual(
      parseSeriesCsv(`timestamp,value\n${rows}\n`).map((row) => row.value),
      [1, Number.NaN, Number.NaN, Number.NaN, Number.NaN, -2500],
    );
  });
});
