/**
 * One end-to-end run on the embedded stack: resources → K workers → the simulator → wait until every
 * record that reached the stream was processed and delivered → Firehose flush → read back S3 → summary.
 * A library: the caller starts the stack and builds the clients; `fleetstream start` and the benchmarks
 * are thin layers over it.
 */

import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { correctAfterRun } from '../anomaly/correction/after-run.ts';
import type { AwsClients } from '../consumers/aws/clients.ts';
import { ConfigError } from '../consumers/contract/errors.ts';
import { S3_PREFIXES } from '../consumers/contract/layout.ts';
import type { Logger } from '../consumers/observability/logger.ts';
import type { Metrics } from '../consumers/observability/metrics.ts';
import { createRecordProcessor } from '../consumers/processor/record-processor.ts';
import { createRuntimeParts, type ModelRuntimeConfig } from '../consumers/runtimes/runtime.ts';
import type { WorkerProps } from '../consumers/runtimes/worker.ts';
import { type EnsuredResources, ensureResources, type ResourceNames } from '../local/resources.ts';
import { localRuntimeConfig } from '../local/runtime-config.ts';
import { LOCAL_ACCOUNT_ID, type LocalStack } from '../local/stack.ts';
import type { ModelReview } from '../models/review/model-review.ts';
import { parseSimulationConfig, type SimulationOverrides } from '../sim/config.ts';
import { type GroundTruthSink, MemoryGroundTruth, teeGroundTruth } from '../sim/ground-truth.ts';
import { scoreDetections } from '../sim/score.ts';
import { planSimulation, runSimulation, type SimulationReport } from '../sim/simulate.ts';
import { eventBridgePort, kinesisPort } from '../sim/transport.ts';
import { accountFor, checkAgainstGroundTruth, type ObservedOutcome } from './accounting.ts';
import { type ConsumerFleet, startConsumerFleet, waitUntil } from './consumers.ts';
import { type ResultsInventory, readResults } from './inventory.ts';
import type { PipelinePhase, PipelineProgress } from './progress.ts';
import type { ModelSection, SummarySections } from './summary.ts';

export interface PipelineRunProps {
  /** Simulator settings (devices, rate, duration, faults, seed, route …). @default the simulator's defaults */
  readonly simulation?: SimulationOverrides;
  /** Shards of the stream. @default 4 */
  readonly shards?: number;
  /** Embedded workers sharing the lease table. @default 2 */
  readonly workers?: number;
  /**
   * Worker settings. @default reads every 200 ms when caught up (Kinesis allows 5 reads per shard per
   * second), otherwise WorkerProps defaults
   */
  readonly worker?: Omit<WorkerProps, 'streamName' | 'workerId'>;
  /** Resource names, e.g. to isolate runs sharing one stack. @default DEFAULT_RESOURCE_NAMES */
  readonly names?: Partial<ResourceNames>;
  /** Longest wait, after the simulator finished, for the consumers to catch up, ms. @default 120000 */
  readonly settleTimeoutMs?: number;
  /** How often `onProgress` is called, ms. @default 1000 */
  readonly progressIntervalMs?: number;
  readonly onProgress?: (progress: PipelineProgress) => void;
  /** Stops the simulator early; what was sent is still drained and accounted for. */
  readonly signal?: AbortSignal;
  /** @default a fresh id */
  readonly runId?: string;
  /** Also write the ground truth here (e.g. a FileGroundTruth); the run keeps its own copy in memory. */
  readonly groundTruth?: GroundTruthSink;
  /**
   * The served model's second opinion (models/review); the stack must serve it (`modelDir`).
   * @default none — the in-stream detector decides alone
   */
  readonly model?: ModelRuntimeConfig;
}

export interface PipelineRunDeps {
  readonly stack: LocalStack;
  /** Clients pointed at `stack` (the caller owns and destroys them). */
  readonly clients: AwsClients;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface PipelineRun {
  readonly sections: SummarySections;
  readonly resources: EnsuredResources;
  readonly simulation: SimulationReport;
  readonly groundTruth: MemoryGroundTruth;
  readonly inventory: ResultsInventory;
}

export function newRunId(): string {
  return `${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${randomUUID().slice(0, 6)}`;
}

export async function runPipeline(props: PipelineRunProps, deps: PipelineRunDeps): Promise<PipelineRun> {
  const { stack, clients } = deps;
  const runId = props.runId ?? newRunId();
  const shards = props.shards ?? 4;
  const workerCount = props.workers ?? 2;
  const simulationConfig = parseSimulationConfig({
    // The sent count on the progress line comes from the simulator's own reports; keep them fresher than the line.
    progressIntervalMs: 250,
    ...props.simulation,
    envelope: { account: LOCAL_ACCOUNT_ID, region: stack.region },
  });
  const resources = await ensureResources(clients, props.names ?? {}, { shardCount: shards });
  const { names } = resources;
  if (props.model !== undefined && stack.endpoints.sagemakerRuntime === undefined) {
    throw new ConfigError('a model was configured but the local stack serves none (start it with modelDir)');
  }
  const parts = await createRuntimeParts(localRuntimeConfig(stack, resources, props.model), clients);
  const reviews: ModelReview[] = [];
  const createStage = parts.createStage;
  const busBefore = await stack.eventBridgeStats();
  // The stack may run in another process: progress lines show the latest counters fetched, not a live read.
  let busNow = busBefore;
  // One question at a time, so an older answer can never replace a newer one.
  let busRefresh: Promise<void> | undefined;
  const refreshBus = (): Promise<void> => {
    busRefresh ??= stack.eventBridgeStats().then(
      (stats) => {
        busNow = stats;
        busRefresh = undefined;
      },
      (error: unknown) => {
        busRefresh = undefined;
        throw error;
      },
    );
    return busRefresh;
  };
  const fleet: ConsumerFleet = await startConsumerFleet(
    {
      streamName: names.stream,
      leaseTableName: names.leaseTable,
      workers: workerCount,
      worker: { idleTimeBetweenReadsMs: 200, ...props.worker },
      workerIdPrefix: `start-${runId}`,
      shards,
    },
    {
      clients,
      sinks: parts.sinks,
      snapshots: parts.snapshots,
      createProcessor: () => createRecordProcessor({ keepScoredReadings: createStage !== undefined }),
      ...(createStage === undefined
        ? {}
        : {
            createStage: () => {
              const review = createStage();
              reviews.push(review);
              return review;
            },
          }),
      logger: deps.logger,
      metrics: deps.metrics,
    },
  );
  const { counters } = fleet;

  const startedAt = Date.now();
  let phase: PipelinePhase = 'simulating';
  let sent = 0;
  let total = planSimulation(simulationConfig, startedAt).totalRecords;
  const busDelta = () => ({
    delivered: busNow.delivered - busBefore.delivered,
    deadLettered: busNow.deadLettered - busBefore.deadLettered,
    lost: busNow.lost - busBefore.lost,
  });
  let lagSamplesReported = 0;
  const recentLagP99 = (): number | null => {
    const recent = counters.lag.percentiles(lagSamplesReported).p99;
    lagSamplesReported = counters.lag.count;
    return recent;
  };
  const progress = (): PipelineProgress => ({
    phase,
    elapsedMs: Date.now() - startedAt,
    sent,
    total,
    recordsIn: counters.recordsIn,
    resultsOut: counters.resultsOut,
    iteratorLagMs: counters.iteratorLagMs,
    eventLagP99Ms: recentLagP99(),
    rejected: counters.dlqRejections.size,
    deadLettered: busDelta().deadLettered,
    duplicates: counters.duplicates,
    gaps: counters.resultsByKind.get('missing') ?? 0,
    anomalies: counters.resultsByKind.get('anomaly') ?? 0,
  });
  const onProgress = props.onProgress;
  const timer =
    onProgress === undefined
      ? undefined
      : setInterval(() => {
          onProgress(progress());
          refreshBus().catch(() => {});
        }, props.progressIntervalMs ?? 1000);

  const groundTruth = new MemoryGroundTruth();
  let simulation: SimulationReport;
  let incomplete: string | undefined;
  try {
    try {
      simulation = await runSimulation(
        simulationConfig,
        {
          bus: eventBridgePort(clients.eventbridge, names.bus),
          stream: kinesisPort(clients.kinesis, names.stream),
        },
        {
          groundTruth:
            props.groundTruth === undefined ? groundTruth : teeGroundTruth(groundTruth, props.groundTruth),
          ...(props.signal === undefined ? {} : { signal: props.signal }),
          onProgress: (p) => {
            sent = p.delivered;
            total = p.totalRecords;
          },
        },
      );
      sent = simulation.delivered;

      // Everything the bus accepted is either in the stream or in its DLQ once it has drained.
      phase = 'draining';
      await stack.drainEventBridge();
      // A question asked before the drain may answer with older counts: ask again after it.
      await busRefresh?.catch(() => {});
      await refreshBus();
      const inStream = simulation.expected.sentVia.kinesis + busDelta().delivered;
      const settled = await waitUntil(() => counters.recordsIn >= inStream, props.settleTimeoutMs ?? 120_000);
      if (!settled) {
        incomplete = `consumers processed ${counters.recordsIn} of ${inStream} records before the settle timeout`;
      }
    } finally {
      // Graceful: in-flight batches are delivered and checkpointed before the leases are given back.
      await fleet.stop();
    }
    phase = 'flushing';
    await stack.flushFirehose();
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
  phase = 'collecting';
  onProgress?.(progress());
  const consumedAt = Date.now();

  const inventory = await readResults(clients.s3, names.bucket, 'results/');
  // Automatic correction over the run's results (anomaly/correction): requests, verifier, DLQ, history.
  const corrections = await correctAfterRun(clients, {
    bucket: names.bucket,
    table: names.correctionTable,
    metrics: deps.metrics,
  });
  const bus = busDelta();
  const observed: ObservedOutcome = {
    sent: simulation.expected.sent,
    results: inventory.byKind.reading ?? 0,
    rejectedByReason: counters.rejectedByReason(),
    deadLettered: bus.deadLettered,
    duplicates: counters.duplicates,
    missingReported: inventory.missingReadings,
  };
  if (bus.lost > 0) incomplete = `${bus.lost} events the bus could neither deliver nor dead-letter`;
  const accounting = accountFor(observed);
  const score = scoreDetections(groundTruth.lines, inventory.detections);
  const wallSeconds = (consumedAt - startedAt) / 1000;
  const sections: SummarySections = {
    run: {
      runId,
      devices: simulation.devices,
      shards,
      workers: workerCount,
      faults: simulation.faults,
      seed: simulation.seed,
      wallSeconds,
      eventsPerSecond: wallSeconds > 0 ? counters.recordsIn / wallSeconds : 0,
      lagMs: counters.lag.percentiles(),
      readLagMs: counters.readLag.percentiles(),
      ...(incomplete === undefined ? {} : { incomplete }),
    },
    accounting,
    groundTruth: checkAgainstGroundTruth(observed, simulation.expected),
    rejectsByReason: sortedCounts(counters.rejectedByReason()),
    results: {
      bucket: names.bucket,
      prefixes: {
        'results/': inventory.objects,
        'raw/': await countObjects(clients.s3, names.bucket, 'raw/'),
        'errors/': await countObjects(clients.s3, names.bucket, S3_PREFIXES.errors.split('!')[0] as string),
      },
      byKind: sortedCounts(inventory.byKind),
      dlqUrl: resources.dlqUrl,
      dlqMessages: await queueDepth(clients, resources.dlqUrl),
    },
    detection: {
      byFault: score.byFault,
      flagged: score.flagged,
      precision: score.precision,
      labeledRecords: sortedCounts(simulation.expected.byFault),
    },
    ...(reviews.length === 0 ? {} : { model: modelSection(reviews) }),
    corrections,
  };
  return { sections, resources, simulation, groundTruth, inventory };
}

function sortedCounts(counts: Readonly<Partial<Record<string, number>>>): Record<string, number> {
  const sorted: Record<string, number> = {};
  for (const key of Object.keys(counts).sort()) sorted[key] = counts[key] ?? 0;
  return sorted;
}

export async function countObjects(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    count += page.KeyCount ?? page.Contents?.length ?? 0;
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return count;
}

async function queueDepth(clients: Pick<AwsClients, 'sqs'>, queueUrl: string): Promise<number> {
  const { Attributes: attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(attributes?.ApproximateNumberOfMessages ?? 0);
}

function modelSection(reviews: readonly ModelReview[]): ModelSection {
  const sum = (pick: (m: ReturnType<ModelReview['metrics']>) => number): number =>
    reviews.reduce((total, review) => total + pick(review.metrics()), 0);
  return {
    requests: sum((m) => m.requests),
    invoked: sum((m) => m.invoked),
    confirmed: sum((m) => m.confirmed),
    dismissed: sum((m) => m.dismissed),
    inStreamOnly: sum((m) => m.inStreamOnly),
    withheldRequests: sum((m) => m.withheldRequests),
    failures: sum((m) => m.failures),
    timeouts: sum((m) => m.timeouts),
    skippedOpen: sum((m) => m.skipped_open),
  };
}
