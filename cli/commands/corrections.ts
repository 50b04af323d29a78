/**
 * `fleetstream corrections`: the operator's view of automatic correction — what is waiting in the
 * correction DLQ and in failure storage (by reason and age), one item's history, and redrive after a fix.
 */

import { parseArgs } from 'node:util';
import { listFailures, readFailure } from '../../anomaly/correction/failures.ts';
import { CorrectionHistory } from '../../anomaly/correction/history.ts';
import { resolveQueueUrls } from '../../anomaly/correction/lambda/config.ts';
import { parseDeadLetter, requestKey } from '../../anomaly/correction/messages.ts';
import { CORRECTION_NAMES } from '../../anomaly/correction/names.ts';
import { ensureCorrectionQueues, postpone, type Received, receive } from '../../anomaly/correction/queues.ts';
import { redriveDeadLetters, redriveFailure } from '../../anomaly/correction/redrive.ts';
import { S3Store } from '../../anomaly/correction/s3-store.ts';
import { type AwsClients, createAwsClients } from '../../consumers/aws/clients.ts';
import { ConfigError } from '../../consumers/contract/errors.ts';
import type { CliCommand } from '../command.ts';
import { readStackLine } from '../options.ts';

const USAGE = `fleetstream corrections <action> [options]

Actions:
  dlq                      dead letters waiting in the correction DLQ, by reason and age
  failures                 items in failure storage (s3://<bucket>/failures/corrections/), by reason and age
  show <resultId>          one item's correction history (claim, versions, every request that touched it)
  redrive <id>...          put items back on the correction queue after a fix: a failure's S3 key, or a
                           request id / request key (id@seq) of a dead letter or a stored failure

Options:
  --stack JSON|FILE        the line \`fleetstream local\` prints (or a file holding it)
  --aws                    use AWS (default credentials; region from AWS_REGION)
  --reason CODE            only this dead-letter reason (e.g. ALREADY_CORRECTED, RESULT_NOT_FOUND)
  --force                  redrive: allow a further correction of an already corrected item
  --bucket NAME            data bucket (default ${CORRECTION_NAMES.bucket})
  --failures-bucket NAME   failure storage when in a bucket of its own, as the CDK stack deploys it
                           (its FailuresBucket output; default --bucket)
  --table NAME             history table (default ${CORRECTION_NAMES.table})
  --json                   print JSON instead of text

Listing the DLQ receives each message once (and makes it visible again at once), which SQS counts as a
receive: the DLQ processor counts receives as attempts, so a listing costs each dead letter one attempt.`;

function clientsFrom(values: { stack?: string; aws?: boolean }): AwsClients {
  if (values.stack !== undefined) {
    const line = readStackLine(values.stack, ['sqs', 's3', 'dynamodb']);
    const { sqs, s3, dynamodb } = line.endpoints;
    return createAwsClients({
      region: line.region,
      endpoints: {
        ...(sqs === undefined ? {} : { sqs }),
        ...(s3 === undefined ? {} : { s3 }),
        ...(dynamodb === undefined ? {} : { dynamodb }),
      },
      credentials: line.credentials,
    });
  }
  if (values.aws === true) return createAwsClients({ region: process.env.AWS_REGION ?? 'us-east-1' });
  throw new ConfigError('say where: --stack (a running fleetstream local) or --aws');
}

function age(ms: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
}

interface Row {
  readonly id: string;
  readonly reason: string;
  readonly atMs: number;
  readonly detail: string;
}

function print(rows: readonly Row[], json: boolean, nowMs: number): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const byReason = new Map<string, Row[]>();
  for (const row of rows) byReason.set(row.reason, [...(byReason.get(row.reason) ?? []), row]);
  if (rows.length === 0) process.stdout.write('(none)\n');
  for (const [reason, group] of [...byReason].sort()) {
    const oldest = Math.min(...group.map((r) => r.atMs));
    process.stdout.write(`${reason}: ${group.length} (oldest ${age(oldest, nowMs)})\n`);
    for (const row of group.sort((a, b) => a.atMs - b.atMs))
      process.stdout.write(`  ${age(row.atMs, nowMs).padStart(5)}  ${row.id}  ${row.detail}\n`);
  }
}

async function peekDeadLetters(clients: AwsClients, dlqUrl: string): Promise<Row[]> {
  const seen: Received[] = [];
  const rows: Row[] = [];
  for (;;) {
    const batch = await receive(clients.sqs, dlqUrl, { max: 10, visibilitySeconds: 30 });
    if (batch.length === 0) break;
    for (const message of batch) {
      seen.push(message);
      const letter = parseDeadLetter(message.body);
      rows.push(
        letter.ok
          ? {
              id:
                letter.value.message === undefined
                  ? message.messageId
                  : requestKey(letter.value.message.request),
              reason: letter.value.reason,
              atMs: letter.value.deadLetteredAtMs,
              detail: letter.value.error?.message ?? '',
            }
          : { id: message.messageId, reason: 'MOVED_BY_SQS_REDRIVE', atMs: message.sentAtMs, detail: '' },
      );
    }
  }
  for (const message of seen) await postpone(clients.sqs, dlqUrl, message, 0);
  return rows;
}

export const correctionsCommand: CliCommand = {
  name: 'corrections',
  usage: USAGE,
  async run(argv) {
    try {
      return await runCorrections(argv);
    } catch (error) {
      if (!(error instanceof ConfigError) && !(error instanceof TypeError && 'code' in error)) throw error;
      process.stderr.write(`corrections: ${error.message}\n`);
      return 2;
    }
  },
};

const ACTIONS = ['dlq', 'failures', 'show', 'redrive'];

async function runCorrections(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stack: { type: 'string' },
      aws: { type: 'boolean' },
      reason: { type: 'string' },
      force: { type: 'boolean' },
      bucket: { type: 'string' },
      'failures-bucket': { type: 'string' },
      table: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [action, ...ids] = positionals;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (action === undefined || !ACTIONS.includes(action)) {
    process.stderr.write(
      `${action === undefined ? 'fleetstream corrections: say what to do' : `fleetstream corrections: unknown action '${action}'`}\n\n${USAGE}\n`,
    );
    return 2;
  }
  const clients = clientsFrom(values);
  // In AWS the queues are the CDK's: look them up (an operator need not be allowed to create queues, and
  // CreateQueue with other attributes than the deployed ones fails). Locally they may not exist yet.
  const queues = () =>
    values.aws === true
      ? resolveQueueUrls(clients.sqs, { queueUrl: undefined, deadLetterQueueUrl: undefined })
      : ensureCorrectionQueues(clients.sqs);
  try {
    const store = new S3Store({
      s3: clients.s3,
      bucket: values.bucket ?? CORRECTION_NAMES.bucket,
      ...(values['failures-bucket'] === undefined
        ? {}
        : { buckets: { failures: values['failures-bucket'] } }),
    });
    const nowMs = Date.now();
    const json = values.json === true;
    switch (action) {
      case 'dlq': {
        const { deadLetterQueueUrl } = await queues();
        const rows = await peekDeadLetters(clients, deadLetterQueueUrl);
        print(
          values.reason === undefined ? rows : rows.filter((r) => r.reason === values.reason),
          json,
          nowMs,
        );
        return 0;
      }
      case 'failures': {
        const failures = await listFailures(store, values.reason);
        print(
          failures.map((f) => ({
            id: f.key,
            reason: f.reason,
            atMs: f.lastModifiedMs,
            detail: `${f.size} B`,
          })),
          json,
          nowMs,
        );
        return 0;
      }
      case 'show': {
        if (ids.length !== 1) throw new ConfigError('show: give one resultId, e.g. dev-1:w:1795435260000');
        const item = await new CorrectionHistory(
          clients.dynamodb,
          values.table ?? CORRECTION_NAMES.table,
        ).get(ids[0] as string);
        if (item === undefined) {
          process.stderr.write(`no history for ${ids[0]}\n`);
          return 1;
        }
        process.stdout.write(`${JSON.stringify(item, null, json ? undefined : 2)}\n`);
        return 0;
      }
      case 'redrive': {
        if (ids.length === 0) throw new ConfigError('redrive: give at least one failure key or request id');
        const { queueUrl, deadLetterQueueUrl } = await queues();
        const options = { force: values.force === true, nowMs };
        const wanted = new Set(ids);
        const moved: string[] = [];
        for (const failure of await listFailures(store)) {
          const stored = wanted.has(failure.key) ? undefined : await readFailure(store, failure.key);
          if (
            wanted.has(failure.key) ||
            (stored !== undefined &&
              (wanted.has(stored.requestKey) || wanted.has(stored.message?.request.id ?? '')))
          ) {
            moved.push(await redriveFailure(store, clients.sqs, queueUrl, failure.key, options));
          }
        }
        moved.push(...(await redriveDeadLetters(clients.sqs, deadLetterQueueUrl, queueUrl, wanted, options)));
        process.stdout.write(
          json
            ? `${JSON.stringify({ redriven: moved })}\n`
            : `redriven ${moved.length}: ${moved.join(' ')}\n`,
        );
        return moved.length === 0 ? 1 : 0;
      }
      default:
        throw new ConfigError(`unknown action ${action}; see fleetstream corrections --help`);
    }
  } finally {
    clients.destroy();
  }
}
