import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../consumers/aws/clients.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';

describe('fleetstream local', () => {
  it('prints working endpoints as JSON and stops cleanly on SIGINT', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['bin/fleetstream.js', 'local', '--shards', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    try {
      const [firstLine] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const printed = JSON.parse(firstLine);
      assert.deepEqual(Object.keys(printed.endpoints).sort(), [
        'dynamodb',
        'eventbridge',
        'firehose',
        'kinesis',
        's3',
        'sqs',
      ]);
      const clients = createAwsClients({
        region: printed.region,
        endpoints: printed.endpoints,
        credentials: printed.credentials,
      });
      try {
        const { StreamDescriptionSummary } = await clients.kinesis.send(
          new DescribeStreamSummaryCommand({ StreamName: DEFAULT_NAMES.stream }),
        );
        assert.equal(StreamDescriptionSummary?.OpenShardCount, 1);
        const { Attributes } = await clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: printed.resources.dlqUrl, AttributeNames: ['QueueArn'] }),
        );
        assert.match(Attributes?.QueueArn ?? '', /:fleetstream-dlq$/);
      } finally {
        clients.destroy();
      }
      child.kill('SIGINT');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, stderr.join(''));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
