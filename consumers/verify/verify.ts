/**
 * Business rules of a fleet. A decoded event is either accepted or rejected with one reason; the
 * checks run cheapest-first and the first failing rule wins, so each rejection names one cause.
 */
import type { FleetConfig } from '../config.ts';
import { RejectReason } from '../contract/reasons.ts';
import type { TelemetryDetail } from '../contract/telemetry.ts';

export interface Violation {
  readonly reason: RejectReason;
  readonly message: string;
}

/** What verification needs to know of the device's history (from the calculation state). */
export interface DeviceHistory {
  /** Highest `seq` accepted so far, or -1 for a device never seen. */
  readonly highestSeq: number;
  /** Device time of that reading, epoch ms (meaningless when highestSeq is -1). */
  readonly highestSeqTsMs: number;
}

export const NEW_DEVICE: DeviceHistory = { highestSeq: -1, highestSeqTsMs: Number.NaN };

/** The verification rules, precomputed from a FleetConfig once. */
export class Verifier {
  private readonly metricNames: readonly string[];
  private readonly mins: Float64Array;
  private readonly maxs: Float64Array;
  private readonly firmware: ReadonlySet<string> | undefined;

  constructor(private readonly config: FleetConfig) {
    this.metricNames = config.metrics.map((m) => m.name);
    this.mins = Float64Array.from(config.metrics, (m) => m.min);
    this.maxs = Float64Array.from(config.metrics, (m) => m.max);
    this.firmware = config.firmwareAllowList === undefined ? undefined : new Set(config.firmwareAllowList);
  }

  /** Returns undefined when the event passes every rule. */
  check(
    detail: TelemetryDetail,
    tsMs: number,
    arrivalMs: number,
    history: DeviceHistory,
  ): Violation | undefined {
    // NaN and ±Infinity never get this far: decoding rejects them with NON_FINITE_METRIC.
    const { metrics } = detail;
    for (let i = 0; i < this.metricNames.length; i++) {
      const name = this.metricNames[i] as string;
      const value = metrics[name];
      if (value === undefined) continue;
      const min = this.mins[i] as number;
      const max = this.maxs[i] as number;
      if (value < min || value > max) {
        return {
          reason: RejectReason.MetricOutOfRange,
          message: `metric '${name}' = ${value} is outside [${min}, ${max}]`,
        };
      }
    }
    if (tsMs - arrivalMs > this.config.maxClockSkewFutureMs) {
      return {
        reason: RejectReason.ClockSkewFuture,
        message: `device time ${detail.ts} is ${tsMs - arrivalMs} ms ahead of arrival; limit ${this.config.maxClockSkewFutureMs} ms`,
      };
    }
    if (arrivalMs - tsMs > this.config.maxEventAgeMs) {
      return {
        reason: RejectReason.ClockSkewPast,
        message: `device time ${detail.ts} is ${arrivalMs - tsMs} ms behind arrival; limit ${this.config.maxEventAgeMs} ms`,
      };
    }
    // An older seq with older device time is a late or reordered event (the calculation handles it);
    // an older seq claiming newer device time contradicts the contract: the sequence cannot be trusted.
    if (detail.seq < history.highestSeq && tsMs > history.highestSeqTsMs) {
      return {
        reason: RejectReason.SeqRegression,
        message: `seq ${detail.seq} is below ${history.highestSeq} but its device time is later`,
      };
    }
    if (
      this.firmware !== undefined &&
      (detail.firmware === undefined || !this.firmware.has(detail.firmware))
    ) {
      return {
        reason: RejectReason.FirmwareNotAllowed,
        message: `firmware '${detail.firmware ?? '(none)'}' is not on the allow-list`,
      };
    }
    return undefined;
  }
}
