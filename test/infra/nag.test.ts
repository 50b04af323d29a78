import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { accessLogBucket, secureBucket, secureQueue } from '../../infra/constructs/secure.ts';

interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
}
interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: Violation[] }[];
}

const outdirs: string[] = [];
after(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes with the same cdk-nag pack as infra/app.ts; returns the thrown error and the report. */
function synthWithNag(build: (stack: Stack) => void): { error: unknown; report: ValidationReport } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'fleetstream-nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  build(new Stack(app, 'Probe', { analyticsReporting: false }));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const report = JSON.parse(
    readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
  ) as ValidationReport;
  return { error, report };
}

function violationsOf(report: ValidationReport): Map<string, string[]> {
  const byRule = new Map<string, string[]>();
  for (const plugin of report.pluginReports) {
    for (const violation of plugin.violations) {
      byRule.set(
        violation.ruleName,
        violation.violatingConstructs.map((construct) => construct.constructPath),
      );
    }
  }
  return byRule;
}

describe('cdk-nag in synth', () => {
  it('fails the synth and names the rule and the construct for a non-compliant bucket and queue', () => {
    const { error, report } = synthWithNag((stack) => {
      new s3.Bucket(stack, 'PlainBucket');
      new sqs.Queue(stack, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    });
    assert.ok(error instanceof Error);
    assert.match(error.message, /Validation failed/);
    const violations = violationsOf(report);
    assert.deepEqual(violations.get('AwsSolutions-S1'), ['Probe/PlainBucket/Resource']);
    assert.deepEqual(violations.get('AwsSolutions-S10'), ['Probe/PlainBucket/Resource']);
    assert.deepEqual(violations.get('AwsSolutions-SQS2'), ['Probe/PlainQueue/Resource']);
    assert.deepEqual(violations.get('AwsSolutions-SQS4'), ['Probe/PlainQueue/Resource']);
  });

  it('passes for the secure building blocks once the documented exceptions are acknowledged', () => {
    const { error, report } = synthWithNag((stack) => {
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const logs = accessLogBucket(stack, 'AccessLogs', RemovalPolicy.DESTROY);
      Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'The access log bucket itself.' });
      secureBucket(stack, 'Data', {
        encryptionKey: key,
        accessLogs: logs,
        lifecycle: {},
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const poison = secureQueue(stack, 'Poison', { encryptionKey: key });
      Validations.of(poison).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'A dead-letter queue itself.' });
      secureQueue(stack, 'Work', {
        encryptionKey: key,
        deadLetterQueue: { queue: poison, maxReceiveCount: 5 },
      });
    });
    assert.equal(error, undefined);
    assert.deepEqual([...violationsOf(report).keys()], []);
    assert.ok(report.pluginReports.every((plugin) => plugin.conclusion === 'success'));
  });

  it('still reports an unacknowledged finding next to an acknowledged one', () => {
    const { error, report } = synthWithNag((stack) => {
      const bucket = new s3.Bucket(stack, 'HalfFixed', { enforceSSL: true });
      Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S10', reason: 'Not the finding under test.' });
    });
    assert.ok(error instanceof Error);
    const violations = violationsOf(report);
    assert.deepEqual([...violations.keys()], ['AwsSolutions-S1']);
  });
});
