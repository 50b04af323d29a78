/**
 * The embedded AWS-compatible stack: kinesalite, dynalite and s3rver from npm plus the project's own
 * EventBridge, Firehose and SQS stand-ins, all in this process on 127.0.0.1. The real `@aws-sdk/*`
 * clients talk to it over HTTP exactly as they talk to AWS.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import S3rver from 's3rver';
import type { AwsClientsConfig } from '../consumers/aws/clients.ts';
import { createAwsClients } from '../consumers/aws/clients.ts';
import { ConfigError } from '../consumers/contract/errors.ts';
import { startModelServer } from '../models/serving/server.ts';
import type { DeliveryStats } from './eventbridge/delivery.ts';
import { createEventBridgeStandIn, type EventBridgeStandIn } from './eventbridge/service.ts';
import { createFirehoseStandIn, type FirehoseStandIn } from './firehose/service.ts';
import { createSqsStandIn, type SqsStandIn } from './sqs/service.ts';
import { addFaultLayer, type FaultInjector } from './wire/faults.ts';
import { closeServer, listen } from './wire/json-server.ts';

/** s3rver accepts only its own key pair; every other local service accepts any, so all use this one. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalStackOptions {
  /**
   * Keep data on disk under this directory so a restart resumes: Kinesis and DynamoDB in LevelDB
   * (kinesalite/dynalite `path`, which needs the prebuilt leveldown/classic-level binaries), S3 as
   * s3rver files, the stand-ins as JSON files.
   * @default in-memory (S3 in a temporary directory removed on stop)
   */
  readonly dataDir?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Fixed ports, e.g. for the CLI. @default 0 for each (ephemeral) */
  readonly ports?: Partial<Record<keyof LocalEndpoints, number>>;
  /**
   * How long kinesalite keeps a stream CREATING/DELETING/UPDATING and dynalite a table CREATING, in ms.
   * Small so tests are fast; AWS takes seconds.
   * @default 20
   */
  readonly transitionMs?: number;
  /** Firehose stand-in: how often buffers are checked against their BufferingHints interval, in ms. @default 200 */
  readonly firehoseTickMs?: number;
  /**
   * A Kinesis endpoint already running elsewhere (its own process, see `startLocalStackProcess`): the
   * stack then starts no kinesalite, routes EventBridge to this one, and has no Kinesis fault hook.
   * @default none — kinesalite starts in this process
   */
  readonly kinesisEndpoint?: string;
  /**
   * Serve the model in this directory (`model.json`, from `fleetstream train-model`) as the SageMaker
   * endpoint stand-in: the container contract plus the Runtime's InvokeEndpoint path.
   * @default no model endpoint
   */
  readonly modelDir?: string;
}

export interface LocalEndpoints {
  kinesis: string;
  dynamodb: string;
  s3: string;
  firehose: string;
  eventbridge: string;
  sqs: string;
  /** The served model (InvokeEndpoint), when the stack was started with `modelDir`. */
  sagemakerRuntime?: string;
}

/**
 * What the application side needs from the embedded stack, wherever it runs: its endpoints, the few
 * operator actions a local run uses (AWS does them on its own schedule), and stop. Implemented in this
 * process by `startLocalStack` and across a process boundary by `startLocalStackProcess`.
 */
export interface LocalStack {
  readonly endpoints: LocalEndpoints;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Delivers every buffered Firehose record to S3 now (AWS waits for the buffer interval); resolves with the objects written. */
  flushFirehose(): Promise<number>;
  /** Resolves once EventBridge has delivered, retried to exhaustion or dead-lettered everything it accepted. */
  drainEventBridge(): Promise<void>;
  /** EventBridge's delivery counters since the stack started. */
  eventBridgeStats(): Promise<DeliveryStats>;
  stop(): Promise<void>;
}

/** The stack in this process: the same, plus direct handles for tests (wire faults, stand-in internals). */
export interface EmbeddedLocalStack extends LocalStack {
  /**
   * Wire-fault hooks for kinesalite and dynalite (e.g. throttle the next GetRecords); the stand-ins
   * have the same hook on `standIns.<name>.service`.
   */
  readonly faults: { readonly kinesis: FaultInjector; readonly dynamodb: FaultInjector };
  /** The project's stand-ins, for tests and the CLI (flush Firehose buffers, inject wire faults). */
  readonly standIns: {
    readonly firehose: FirehoseStandIn;
    readonly eventbridge: EventBridgeStandIn;
    readonly sqs: SqsStandIn;
  };
}

/** The client configuration that points every SDK client at the stack. */
export function localClientsConfig(stack: LocalStack): AwsClientsConfig {
  return { region: stack.region, endpoints: { ...stack.endpoints }, credentials: { ...stack.credentials } };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<EmbeddedLocalStack> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const transitionMs = options.transitionMs ?? 20;
  const ports = options.ports ?? {};
  const dataDir = options.dataDir;
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const s3Directory =
    dataDir === undefined ? mkdtempSync(join(tmpdir(), 'fleetstream-s3-')) : join(dataDir, 's3');

  const dynamoServer = levelServer('dynalite', () =>
    dynalite({
      path: dataDir === undefined ? undefined : join(dataDir, 'dynamodb'),
      createTableMs: transitionMs,
      deleteTableMs: transitionMs,
      updateTableMs: transitionMs,
    }),
  );
  const dynamodbFaults = addFaultLayer(dynamoServer, 'application/x-amz-json-1.0');
  const s3rver = new S3rver({ address: host, port: ports.s3 ?? 0, silent: true, directory: s3Directory });

  const started: Array<() => Promise<void>> = [];
  try {
    let kinesis: string;
    let kinesisFaults: FaultInjector;
    if (options.kinesisEndpoint === undefined) {
      const own = await startKinesis({ host, port: ports.kinesis, transitionMs, dataDir });
      started.push(own.stop);
      kinesis = own.endpoint;
      kinesisFaults = own.faults;
    } else {
      kinesis = options.kinesisEndpoint;
      kinesisFaults = elsewhere('Kinesis runs in another process; inject its faults there');
    }
    const faults = { kinesis: kinesisFaults, dynamodb: dynamodbFaults };
    const dynamodb = await listen(dynamoServer, host, ports.dynamodb);
    started.push(() => closeServer(dynamoServer));
    const s3Address = await s3rver.run();
    started.push(() => s3rver.close());
    const s3 = `http://${host}:${s3Address.port}`;

    const sqs = createSqsStandIn({
      region,
      accountId: LOCAL_ACCOUNT_ID,
      statePath: dataDir === undefined ? undefined : join(dataDir, 'sqs.json'),
    });
    const sqsEndpoint = await listen(sqs.service.server, host, ports.sqs);
    sqs.setEndpoint(sqsEndpoint);
    started.push(() => sqs.close());

    // The stand-ins reach the other services through the same real SDK clients the application uses.
    // One attempt per call: the stand-ins apply their service's own retry policy (EventBridge's
    // RetryPolicy, Firehose's re-buffering), which SDK retries underneath would silently multiply.
    const internalClients = createAwsClients({
      region,
      endpoints: { kinesis, s3, sqs: sqsEndpoint },
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    started.push(async () => internalClients.destroy());

    const firehose = createFirehoseStandIn({
      region,
      accountId: LOCAL_ACCOUNT_ID,
      s3: internalClients.s3,
      tickMs: options.firehoseTickMs ?? 200,
      statePath: dataDir === undefined ? undefined : join(dataDir, 'firehose.json'),
    });
    const firehoseEndpoint = await listen(firehose.service.server, host, ports.firehose);
    started.push(() => firehose.close());

    const eventbridge = createEventBridgeStandIn({
      region,
      accountId: LOCAL_ACCOUNT_ID,
      kinesis: internalClients.kinesis,
      sqs: internalClients.sqs,
      statePath: dataDir === undefined ? undefined : join(dataDir, 'eventbridge.json'),
    });
    const eventbridgeEndpoint = await listen(eventbridge.service.server, host, ports.eventbridge);
    started.push(() => eventbridge.close());

    let sagemakerRuntime: string | undefined;
    if (options.modelDir !== undefined) {
      const model = await startModelServer({
        modelDir: options.modelDir,
        host,
        port: ports.sagemakerRuntime ?? 0,
      });
      started.push(() => model.close());
      sagemakerRuntime = model.url;
    }

    let stopped = false;
    return {
      endpoints: {
        kinesis,
        dynamodb,
        s3,
        firehose: firehoseEndpoint,
        eventbridge: eventbridgeEndpoint,
        sqs: sqsEndpoint,
        ...(sagemakerRuntime === undefined ? {} : { sagemakerRuntime }),
      },
      region,
      credentials: { ...LOCAL_CREDENTIALS },
      faults,
      standIns: { firehose, eventbridge, sqs },
      flushFirehose: async () => (await firehose.flush()).length,
      drainEventBridge: () => eventbridge.drain(),
      eventBridgeStats: async () => ({ ...eventbridge.stats() }),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll(started);
        if (dataDir === undefined) rmSync(s3Directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll(started);
    if (dataDir === undefined) rmSync(s3Directory, { recursive: true, force: true });
    throw error;
  }
}

export interface KinesisOptions {
  readonly host: string;
  readonly port?: number | undefined;
  readonly transitionMs: number;
  readonly dataDir?: string | undefined;
}

/** kinesalite alone, behind the fault layer: part of the stack, or the whole of its own process. */
export async function startKinesis(
  options: KinesisOptions,
): Promise<{ endpoint: string; faults: FaultInjector; stop: () => Promise<void> }> {
  const server = levelServer('kinesalite', () =>
    kinesalite({
      path: options.dataDir === undefined ? undefined : join(options.dataDir, 'kinesis'),
      createStreamMs: options.transitionMs,
      deleteStreamMs: options.transitionMs,
      updateStreamMs: options.transitionMs,
      shardLimit: 100,
    }),
  );
  const faults = addFaultLayer(server, 'application/x-amz-json-1.1');
  const endpoint = await listen(server, options.host, options.port);
  return { endpoint, faults, stop: () => closeServer(server) };
}

function elsewhere(message: string): FaultInjector {
  const refuse = (): never => {
    throw new ConfigError(message);
  };
  return { injectFault: refuse, clearFaults: refuse };
}

/** Stops in reverse start order so the stand-ins drain into services that are still up. */
async function stopAll(started: Array<() => Promise<void>>): Promise<void> {
  const errors: unknown[] = [];
  for (const stop of started.reverse()) {
    try {
      await stop();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'local stack did not stop cleanly');
}

/** The LevelDB binaries are only loaded for `dataDir`; if they are missing, say so instead of a stack trace. */
function levelServer(name: string, create: () => Server): Server {
  try {
    return create();
  } catch (error) {
    throw new ConfigError(
      `${name} could not open its on-disk store (LevelDB binary missing?); run without dataDir`,
      {
        cause: error,
      },
    );
  }
}
