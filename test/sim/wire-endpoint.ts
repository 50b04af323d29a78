/**
 * A minimal EventBridge PutEvents + Kinesis PutRecords endpoint (AWS JSON 1.1) for sender tests, so the
 * real SDK clients can be answered with partial failures and failed calls at the wire. It keeps what it
 * accepted; it routes nothing (the end-to-end test uses the real local stack for that).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AcceptedEntry {
  readonly kind: 'event' | 'record';
  /** `Detail` for events, the decoded bytes for records. */
  readonly payload: Buffer;
  readonly partitionKey?: string;
}

/** Decides each entry's answer: undefined accepts it, a string fails it with that error code. */
export type EntryRule = (entry: AcceptedEntry, attempt: number) => string | undefined;

export interface WireEndpoint {
  readonly url: string;
  readonly accepted: AcceptedEntry[];
  /** Entries per call, in call order. */
  readonly batchSizes: { kind: 'event' | 'record'; size: number }[];
  /** Fail the next `n` calls with HTTP `status` and error `type`. */
  failCalls(n: number, status: number, type: string): void;
  close(): Promise<void>;
}

export async function startWireEndpoint(rule: EntryRule = () => undefined): Promise<WireEndpoint> {
  const accepted: AcceptedEntry[] = [];
  const batchSizes: { kind: 'event' | 'record'; size: number }[] = [];
  const attempts = new Map<string, number>();
  let failing: { n: number; status: number; type: string } = { n: 0, status: 500, type: '' };

  const answer = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };
  const judge = (entry: AcceptedEntry): string | undefined => {
    const key = `${entry.kind}:${entry.payload.toString('base64')}:${entry.partitionKey ?? ''}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const error = rule(entry, attempt);
    if (error === undefined) accepted.push(entry);
    return error;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (failing.n > 0) {
        failing.n -= 1;
        answer(res, failing.status, { __type: failing.type, message: 'injected' });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Entries?: { Detail: string }[];
        Records?: { Data: string; PartitionKey: string }[];
      };
      if (target === 'AWSEvents.PutEvents') {
        const entries = body.Entries ?? [];
        batchSizes.push({ kind: 'event', size: entries.length });
        const results = entries.map((e, i) => {
          const error = judge({ kind: 'event', payload: Buffer.from(e.Detail, 'utf8') });
          return error === undefined
            ? { EventId: `e-${accepted.length}-${i}` }
            : { ErrorCode: error, ErrorMessage: 'injected' };
        });
        answer(res, 200, {
          FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
          Entries: results,
        });
      } else if (target === 'Kinesis_20131202.PutRecords') {
        const records = body.Records ?? [];
        batchSizes.push({ kind: 'record', size: records.length });
        const results = records.map((r, i) => {
          const error = judge({
            kind: 'record',
            payload: Buffer.from(r.Data, 'base64'),
            partitionKey: r.PartitionKey,
          });
          return error === undefined
            ? { SequenceNumber: String(accepted.length * 1000 + i), ShardId: 'shardId-000000000000' }
            : { ErrorCode: error, ErrorMessage: 'injected' };
        });
        answer(res, 200, {
          FailedRecordCount: results.filter((r) => 'ErrorCode' in r).length,
          Records: results,
        });
      } else {
        answer(res, 400, { __type: 'UnknownOperationException', message: target });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    batchSizes,
    failCalls(n, status, type) {
      failing = { n, status, type };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
