/**
 * The model server: SageMaker's inference container contract (GET /ping, POST /invocations) and, for local
 * runs, SageMaker Runtime's InvokeEndpoint path, on one node:http server. A router, then one handler per
 * action (actions/).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import type { RandomCutForest } from '../rcf/forest.ts';
import { invocations } from './actions/invocations.ts';
import { invokeEndpoint, serviceError } from './actions/invoke-endpoint.ts';
import { ping } from './actions/ping.ts';
import type { ServingContext, ServingResponse } from './actions/types.ts';
import { MAX_PAYLOAD_BYTES } from './codec.ts';
import { loadModel, SAGEMAKER_MODEL_DIR } from './model-dir.ts';

export interface ModelServerOptions {
  /**
   * A forest to serve directly (embedded use). When absent the model is loaded from `modelDir`.
   * @default undefined
   */
  readonly model?: RandomCutForest;
  /**
   * Directory holding `model.json`.
   * @default '/opt/ml/model' (where SageMaker extracts the model artifact)
   */
  readonly modelDir?: string;
  /**
   * TCP port; 0 picks a free one.
   * @default SAGEMAKER_BIND_TO_PORT from the environment, else 8080 (the container contract)
   */
  readonly port?: number;
  /**
   * Interface to bind.
   * @default '0.0.0.0' (SageMaker reaches the container from outside; pass '127.0.0.1' for local use)
   */
  readonly host?: string;
  /**
   * Endpoint name answered on `/endpoints/{name}/invocations`.
   * @default DEFAULT_NAMES.modelEndpoint ('fleetstream-rcf')
   */
  readonly endpointName?: string;
}

export interface ModelServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`; point the SageMaker Runtime client's `endpoint` here. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const INVOKE_ENDPOINT_PATH = /^\/endpoints\/([^/]+)\/invocations$/;

function send(res: ServerResponse, answer: ServingResponse): void {
  res.writeHead(answer.status, {
    'Content-Type': answer.contentType,
    'Content-Length': Buffer.byteLength(answer.body),
    'x-amzn-RequestId': crypto.randomUUID(),
    ...answer.headers,
  });
  res.end(answer.body);
}

/** Reads the body up to the payload limit; undefined when the request is larger. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The endpoint name from the path; a malformed %-escape stays as sent, which names no endpoint. */
function endpointName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function resolveServerPort(
  explicit: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (explicit !== undefined) return explicit;
  const fromEnv = env.SAGEMAKER_BIND_TO_PORT;
  if (fromEnv === undefined || fromEnv === '') return 8080;
  const port = Number(fromEnv);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`SAGEMAKER_BIND_TO_PORT must be a TCP port, got '${fromEnv}'`);
  }
  return port;
}

/** Loads the model, then listens. Rejects (and listens on nothing) when the model cannot be loaded. */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const model = options.model ?? (await loadModel(options.modelDir ?? SAGEMAKER_MODEL_DIR));
  const context: ServingContext = {
    model,
    endpointName: options.endpointName ?? DEFAULT_NAMES.modelEndpoint,
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      send(res, serviceError(500, 'InternalFailure', { Message: message }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      send(res, ping());
      return;
    }
    const endpoint = INVOKE_ENDPOINT_PATH.exec(path);
    if ((path === '/invocations' || endpoint !== null) && req.method === 'POST') {
      const body = await readBody(req);
      if (body === undefined) {
        const message = `payload exceeds ${MAX_PAYLOAD_BYTES} bytes`;
        const answer =
          endpoint === null
            ? { status: 413, contentType: 'application/json', body: JSON.stringify({ message }) }
            : serviceError(400, 'ValidationError', { Message: message });
        // The rest of an oversized body is not read, so the connection cannot carry another request: say
        // so, or a keep-alive client sends its next request into the unread body and gets a reset.
        res.shouldKeepAlive = false;
        send(res, { ...answer, headers: { ...answer.headers, Connection: 'close' } });
        res.once('finish', () => req.destroy());
        return;
      }
      const request = { contentType: req.headers['content-type'], accept: req.headers.accept, body };
      send(
        res,
        endpoint === null
          ? invocations(context, request)
          : invokeEndpoint(context, endpointName(endpoint[1]!), request),
      );
      return;
    }
    req.resume();
    send(res, {
      status: 404,
      contentType: 'application/json',
      body: JSON.stringify({ message: `no route for ${req.method} ${path}` }),
    });
  }

  const port = resolveServerPort(options.port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const urlHost = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
