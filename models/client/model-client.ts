/**
 * The stream's client for the served model. Per shard batch it picks the readings worth a second opinion,
 * sends them in one InvokeEndpoint call, and gives back a model score per reading or `undefined`, in which
 * case the stream decides on the in-stream score alone (combine.ts). It never throws for endpoint trouble:
 * failures, timeouts and an open breaker show up in `metrics()` instead.
 *
 * Cost gating: SageMaker bills per instance-hour, and the instance count needed follows request volume, so
 * only candidates (in-stream score ≥ `gate`) plus a small deterministic sample of the rest go out. The sample
 * keeps the model's view of normal traffic (for calibration and for anomalies the in-stream detector misses)
 * and is chosen by a hash of the reading id, so a replay makes the same choices.
 */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ConfigError } from '../../consumers/contract/errors.ts';
import { unitHash } from '../../consumers/contract/hash.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { decodeScores } from '../serving/codec.ts';
import {
  type BreakerState,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type Clock,
  systemClock,
} from './breaker.ts';

export interface ModelCandidate {
  /** Stable id of the reading (e.g. `${deviceId}:r:${seq}`); decides the deterministic sample. */
  readonly id: string;
  /** The in-stream detector's score in [0, 1]. */
  readonly inStreamScore: number;
  /** The point the model scores: feature_dim × shingle_size values, as the served model expects. */
  readonly features: readonly number[];
}

export interface ModelClientOptions {
  /** Created at start-up and injected; locally its endpoint points at the embedded model server. */
  readonly runtime: SageMakerRuntimeClient;
  /**
   * @default DEFAULT_NAMES.modelEndpoint ('fleetstream-rcf')
   */
  readonly endpointName?: string;
  /**
   * In-stream score at or above which a reading is a candidate and goes to the model.
   * @default 0.5
   */
  readonly gate?: number;
  /**
   * Fraction of non-candidates sent anyway, in [0, 1].
   * @default 0.01
   */
  readonly sampleRate?: number;
  /**
   * Deadline of one InvokeEndpoint call, SDK retries included, in milliseconds.
   * @default 1000
   */
  readonly timeoutMs?: number;
  /**
   * Rows per InvokeEndpoint request; larger selections are split. 2,000 rows of 8 values stay far below
   * the 6 MB payload limit.
   * @default 2000
   */
  readonly maxRowsPerRequest?: number;
  /** @default { failureThreshold: 5, cooldownMs: 30_000 } */
  readonly breaker?: CircuitBreakerOptions;
  /** @default the system clock */
  readonly clock?: Clock;
}

export interface ModelClientMetrics {
  /** Rows sent to the model. */
  readonly invoked: number;
  /** InvokeEndpoint requests made. */
  readonly requests: number;
  /** Rows not sent because they were neither candidates nor sampled. */
  readonly skipped_gated: number;
  /** Rows that would have been sent but the breaker was open. */
  readonly skipped_open: number;
  /** Requests that failed (error answer, unreadable answer, network error). */
  readonly failures: number;
  /** Requests abandoned at the deadline. */
  readonly timeouts: number;
  readonly breaker_state: BreakerState;
}

export interface ModelClient {
  /** Whether a reading with this id and in-stream score would go to the model (a candidate or sampled). */
  wants(id: string, inStreamScore: number): boolean;
  /** A model score per candidate, aligned with the input; undefined where the model did not score. */
  scoreBatch(candidates: readonly ModelCandidate[]): Promise<(number | undefined)[]>;
  metrics(): ModelClientMetrics;
}

function unitInterval(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new ConfigError(`${name} must be in [0, 1], got ${value}`);
  return value;
}

export function createModelClient(options: ModelClientOptions): ModelClient {
  const endpointName = options.endpointName ?? DEFAULT_NAMES.modelEndpoint;
  const gate = unitInterval('gate', options.gate ?? 0.5);
  const sampleRate = unitInterval('sampleRate', options.sampleRate ?? 0.01);
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!(timeoutMs > 0)) throw new ConfigError('timeoutMs must be > 0');
  const maxRows = options.maxRowsPerRequest ?? 2000;
  if (!Number.isInteger(maxRows) || maxRows < 1)
    throw new ConfigError('maxRowsPerRequest must be a positive integer');
  const breaker = new CircuitBreaker(options.breaker, options.clock ?? systemClock);
  const counters = { invoked: 0, requests: 0, skipped_gated: 0, skipped_open: 0, failures: 0, timeouts: 0 };

  /** One InvokeEndpoint call; scores on success, undefined on any failure (counted). */
  async function invoke(rows: readonly (readonly number[])[]): Promise<number[] | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    counters.requests++;
    counters.invoked += rows.length;
    try {
      const output = await options.runtime.send(
        new InvokeEndpointCommand({
          EndpointName: endpointName,
          ContentType: 'text/csv',
          Accept: 'application/json',
          Body: new TextEncoder().encode(rows.map((row) => row.join(',')).join('\n')),
        }),
        { abortSignal: controller.signal },
      );
      const scores =
        output.Body === undefined ? undefined : decodeScores(new TextDecoder().decode(output.Body));
      if (scores === undefined || scores.length !== rows.length) {
        counters.failures++;
        breaker.onFailure();
        return undefined;
      }
      breaker.onSuccess();
      return scores;
    } catch {
      if (controller.signal.aborted) counters.timeouts++;
      else counters.failures++;
      breaker.onFailure();
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  const wants = (id: string, inStreamScore: number): boolean =>
    inStreamScore >= gate || (sampleRate > 0 && unitHash(id) < sampleRate);

  return {
    wants,
    async scoreBatch(candidates) {
      const result: (number | undefined)[] = new Array(candidates.length).fill(undefined);
      const chosen: number[] = [];
      candidates.forEach((c, i) => {
        if (wants(c.id, c.inStreamScore)) chosen.push(i);
        else counters.skipped_gated++;
      });
      for (let start = 0; start < chosen.length; start += maxRows) {
        const slice = chosen.slice(start, start + maxRows);
        if (!breaker.tryAcquire()) {
          counters.skipped_open += slice.length;
          continue;
        }
        const scores = await invoke(slice.map((i) => candidates[i]!.features));
        if (scores === undefined) continue;
        for (let k = 0; k < slice.length; k++) result[slice[k]!] = scores[k];
      }
      return result;
    },
    metrics: () => ({ ...counters, breaker_state: breaker.state }),
  };
}
