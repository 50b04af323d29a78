/**
 * The AWS JSON protocol (1.0 and 1.1) as the real SDK clients speak it: `POST /` with
 * `X-Amz-Target: <prefix>.<Action>` and a JSON body; errors are a JSON body with `__type` and `message`
 * and a 4xx/5xx status. Each stand-in is a router built from this plus one handler file per action.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FaultInjector, FaultQueue } from './faults.ts';

export type JsonObject = Record<string, unknown>;

/** An error in the service's own wire shape; `type` becomes `__type`, which the SDK turns into `error.name`. */
export class ServiceError extends Error {
  readonly type: string;
  readonly statusCode: number;

  constructor(type: string, message: string, statusCode = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.statusCode = statusCode;
  }
}

/** One wire action: validates its own input, then acts on the service state. */
export type Action<Context> = (context: Context, input: JsonObject) => Promise<JsonObject> | JsonObject;

export interface JsonServiceOptions<Context> {
  /** The part of `X-Amz-Target` before the dot, e.g. `Firehose_20150804`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  contentType: string;
  actions: Readonly<Record<string, Action<Context>>>;
  context: Context;
  /** Requests larger than this are refused before parsing. @default 16 MiB */
  maxRequestBytes?: number;
  /** Maps an error type to what goes in `__type` (SQS qualifies it with its namespace). @default identity */
  wireErrorType?: (type: string) => string;
  /** Extra headers for an error (SQS's `x-amzn-query-error`). */
  errorHeaders?: (error: ServiceError) => Record<string, string>;
}

export interface JsonService extends FaultInjector {
  readonly server: Server;
}

export function createJsonService<Context>(options: JsonServiceOptions<Context>): JsonService {
  const maxRequestBytes = options.maxRequestBytes ?? 16 * 1024 * 1024;
  const wireErrorType = options.wireErrorType ?? ((type: string) => type);
  const faults = new FaultQueue();

  const sendError = (res: ServerResponse, error: ServiceError): void => {
    const body = JSON.stringify({ __type: wireErrorType(error.type), message: error.message });
    const headers = options.errorHeaders?.(error) ?? {};
    res.writeHead(error.statusCode, {
      'Content-Type': options.contentType,
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': crypto.randomUUID(),
      ...headers,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, maxRequestBytes);
    if (body === undefined) {
      throw new ServiceError('SerializationException', `request body exceeds ${maxRequestBytes} bytes`, 413);
    }
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || typeof target !== 'string') {
      throw new ServiceError('UnknownOperationException', 'expected POST with an X-Amz-Target header');
    }
    // Real services refuse unsigned requests before anything else; the signature itself is not checked.
    if (req.headers.authorization === undefined) {
      throw new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
    }
    const [prefix, actionName = ''] = target.split('.', 2);
    const action = options.actions[actionName];
    if (
      prefix !== options.targetPrefix ||
      action === undefined ||
      !Object.hasOwn(options.actions, actionName)
    ) {
      throw new ServiceError('UnknownOperationException', `unknown operation ${target}`);
    }
    const fault = faults.take(actionName);
    if (fault !== undefined) {
      throw new ServiceError(fault.type, `injected fault for ${actionName}`, fault.statusCode);
    }
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      throw new ServiceError('SerializationException', 'request body is not valid JSON');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new ServiceError('SerializationException', 'request body must be a JSON object');
    }
    const output = await action(options.context, input as JsonObject);
    const text = JSON.stringify(output);
    res.writeHead(200, {
      'Content-Type': options.contentType,
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': crypto.randomUUID(),
    });
    res.end(text);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof ServiceError) sendError(res, error);
      else {
        const message = error instanceof Error ? error.message : String(error);
        sendError(res, new ServiceError('InternalFailure', message, 500));
      }
    });
  });

  return {
    server,
    injectFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
  };
}

/** The body, or undefined once it grows past the limit (the rest is drained and discarded). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

/** Listens on an ephemeral port unless one is given, and returns the `http://host:port` endpoint. */
export async function listen(server: Server, host: string, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return `http://${host}:${address.port}`;
}

/** Closes a server without waiting for idle keep-alive sockets of SDK clients to time out. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  server.closeAllConnections();
  await closed;
}
