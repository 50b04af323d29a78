/**
 * The per-device calculation: a deterministic state machine from (state, accepted reading) to
 * (state, outputs). No I/O, no clocks: time comes from the readings (device time) and from the records'
 * arrival times (stream time), both stored in the stream, so a replay produces the same outputs and ids.
 *
 * State is kept column-wise in typed arrays indexed by a device number, so a million devices cost a few
 * hundred bytes each instead of a graph of objects (see `bench/core` for the measured figure).
 */

import type { MetricAnomalyScorer } from '../../anomaly/scorer.ts';
import type { FleetConfig } from '../config.ts';
import type {
  AnomalyRecord,
  CorrectionRequest,
  MetricWindowStats,
  MissingRecord,
  ReadingResult,
  WindowResult,
} from '../contract/outputs.ts';
import { CorrectionReason } from '../contract/outputs.ts';
import { ReadingFlag } from '../contract/reasons.ts';
import type { TelemetryDetail } from '../contract/telemetry.ts';
import type { DeviceHistory } from '../verify/verify.ts';
import type { BinaryReader, BinaryWriter } from './binary.ts';
import { type CounterDelta, type CounterRules, counterDelta } from './counter.ts';
import * as decimal from './decimal.ts';
import { averagePowerW, dewPointC, ENERGY_METRIC, HUMIDITY_METRIC, TEMPERATURE_METRIC } from './derived.ts';
import { IdleQueue } from './idle-queue.ts';
import { WINDOW_METRIC_COLUMNS as COL, resize, WindowPool } from './window-pool.ts';

// Bound once, as in counter.ts.
const { roundSignificant } = decimal;

/** How many seqs below the highest one are remembered for duplicate detection. */
export const DEDUP_HORIZON = 128;
const DEDUP_WORDS = DEDUP_HORIZON / 32;
const NO_WINDOW = -1;

/** Receives the outputs of the calculation, in order. */
export interface CalculationSink {
  /** `eventMs` is the output's event time (epoch ms), which sinks partition by. */
  reading(result: ReadingResult, eventMs: number): void;
  window(result: WindowResult, eventMs: number): void;
  missing(record: MissingRecord, eventMs: number): void;
  anomaly(record: AnomalyRecord, eventMs: number): void;
  correction(request: CorrectionRequest, eventMs: number): void;
}

export type ReadingOutcome = 'accepted' | 'duplicate';

/** Device ids of `${deviceId}:w:${startMs}` results. */
export function windowResultId(deviceId: string, windowStartMs: number): string {
  return `${deviceId}:w:${windowStartMs}`;
}

export class DeviceCalculator implements DeviceHistory {
  readonly config: FleetConfig;
  private readonly metricNames: readonly string[];
  private readonly counterRules: readonly (CounterRules | undefined)[];
  /** Counter number of each metric, or -1 for gauges. */
  private readonly counterOf: readonly number[];
  private readonly counterCount: number;
  private readonly energyIndex: number;
  private readonly temperatureIndex: number;
  private readonly humidityIndex: number;
  private readonly windowMs: number;
  private readonly latenessMs: number;

  /** deviceId → device number. */
  private readonly index = new Map<string, number>();
  private ids: string[] = [];
  private capacity = 0;
  private highestSeqCol = new Float64Array(0);
  private highestSeqTsCol = new Float64Array(0);
  /** Latest device time seen (drives the device's watermark). */
  private maxTsCol = new Float64Array(0);
  /** Arrival time of the device's latest record (drives idle closing). */
  private lastArrivalCol = new Float64Array(0);
  /** End of the last window emitted; readings for windows ending at or before it are late. */
  private emittedThroughCol = new Float64Array(0);
  /** Highest seq of the last window emitted, or -1. */
  private emittedLastSeqCol = new Float64Array(0);
  /** Bit i set ⇔ seq (highestSeq - i) was received. */
  private seenBits = new Uint32Array(0);
  /** The device's open windows: older and newer, or NO_WINDOW. */
  private olderWindow = new Int32Array(0);
  private newerWindow = new Int32Array(0);
  /** 1 while the device has an entry in the idle queue (at most one, so the queue stays O(devices)). */
  private queuedCol = new Uint8Array(0);
  /** Per (device, counter): the last trusted counter value and its device time. */
  private lastValueCol = new Float64Array(0);
  private lastValueTsCol = new Float64Array(0);

  private readonly windows: WindowPool;
  private readonly idle = new IdleQueue();
  private streamTimeMs = Number.NEGATIVE_INFINITY;

  // Scratch for the current reading, reused to keep the hot path allocation-free.
  private current = -1;
  private currentId = '';
  private readonly delta: CounterDelta = { delta: Number.NaN, flag: undefined };

  /** Scores every in-order reading per device metric; absent when anomaly detection is off. */
  readonly scorer: MetricAnomalyScorer | undefined;
  private scoreState = new Float64Array(0);

  constructor(config: FleetConfig, scorer?: MetricAnomalyScorer) {
    this.config = config;
    this.scorer = scorer;
    if (scorer !== undefined) this.scoreState = new Float64Array(scorer.stateWords);
    this.metricNames = config.metrics.map((m) => m.name);
    this.counterRules = config.metrics.map((m) =>
      m.kind === 'counter'
        ? {
            wrapAt: m.wrapAt,
            maxRatePerSecond: m.maxRatePerSecond ?? Number.POSITIVE_INFINITY,
            resetFraction: config.counterResetFraction,
            wrapMarginFraction: config.wrapMarginFraction,
          }
        : undefined,
    );
    let counters = 0;
    this.counterOf = config.metrics.map((m) => (m.kind === 'counter' ? counters++ : -1));
    this.counterCount = counters;
    this.energyIndex = this.metricNames.indexOf(ENERGY_METRIC);
    this.temperatureIndex = this.metricNames.indexOf(TEMPERATURE_METRIC);
    this.humidityIndex = this.metricNames.indexOf(HUMIDITY_METRIC);
    this.windowMs = config.windowMs;
    this.latenessMs = config.allowedLatenessMs;
    this.windows = new WindowPool(this.counterOf);
  }

  get deviceCount(): number {
    return this.ids.length;
  }

  get openWindowCount(): number {
    return this.windows.inUse;
  }

  /**
   * Selects the device the next `apply` is about; until then `this` is that device's DeviceHistory for
   * verification. State is created by `apply`, so devices whose records are all rejected cost nothing.
   */
  select(deviceId: string): this {
    this.currentId = deviceId;
    this.current = this.index.get(deviceId) ?? -1;
    return this;
  }

  get highestSeq(): number {
    return this.current < 0 ? -1 : (this.highestSeqCol[this.current] as number);
  }

  get highestSeqTsMs(): number {
    return this.current < 0 ? Number.NaN : (this.highestSeqTsCol[this.current] as number);
  }

  /**
   * Applies one verified reading of the selected device. Emits its reading result, any missing-range
   * record, windows it closes and correction requests; returns whether it was new or a duplicate.
   */
  apply(detail: TelemetryDetail, tsMs: number, arrivalMs: number, sink: CalculationSink): ReadingOutcome {
    if (this.current < 0 || this.currentId !== detail.deviceId)
      this.current = this.addDevice(detail.deviceId);
    const d = this.current;
    const seq = detail.seq;
    const highest = this.highestSeqCol[d] as number;
    if (arrivalMs > this.streamTimeMs) this.streamTimeMs = arrivalMs;

    let outOfOrder = false;
    if (highest >= 0) {
      if (seq <= highest) {
        const back = highest - seq;
        if (back < DEDUP_HORIZON) {
          const word = d * DEDUP_WORDS + (back >>> 5);
          const bit = 1 << (back & 31);
          if (((this.seenBits[word] as number) & bit) !== 0) return 'duplicate';
          this.seenBits[word] = (this.seenBits[word] as number) | bit;
        }
        // Older than the horizon: a duplicate cannot be told apart; correction recalculates from the archive.
        outOfOrder = true;
      } else {
        if (seq > highest + 1) sink.missing(this.missingRecord(d, highest + 1, seq - 1, tsMs), tsMs);
        this.shiftSeen(d, seq - highest);
      }
    } else {
      this.seenBits[d * DEDUP_WORDS] = 1;
    }
    if (!outOfOrder) {
      this.highestSeqCol[d] = seq;
      this.highestSeqTsCol[d] = tsMs;
    }
    this.lastArrivalCol[d] = arrivalMs;

    let flags: ReadingFlag[] | undefined;
    if (outOfOrder) {
      flags = append(flags, ReadingFlag.OutOfOrder);
      sink.correction(this.gapFilledRequest(d, seq, detail.ts), tsMs);
    }

    const windowStart = Math.floor(tsMs / this.windowMs) * this.windowMs;
    const late = windowStart + this.windowMs <= this.watermarkOf(d);
    let slot = NO_WINDOW;
    if (late) {
      flags = append(flags, ReadingFlag.Late);
      sink.correction(this.lateRequest(d, windowStart, seq), windowStart);
    } else {
      slot = this.windowFor(d, windowStart, seq, arrivalMs, sink);
      this.windows.received[slot] = (this.windows.received[slot] as number) + 1;
      if (seq < (this.windows.minSeq[slot] as number)) this.windows.minSeq[slot] = seq;
      if (seq > (this.windows.maxSeq[slot] as number)) this.windows.maxSeq[slot] = seq;
    }

    const { metrics } = detail;
    const m = this.metricNames.length;
    let deltas: Record<string, number> | undefined;
    let powerW: number | undefined;
    // Detectors assume time order: out-of-order and late readings are folded into windows but not scored.
    const scorer = outOfOrder || late ? undefined : this.scorer;
    let anomalyScore: number | undefined;
    let anomalies: AnomalyRecord[] | undefined;
    for (let i = 0; i < m; i++) {
      const name = this.metricNames[i] as string;
      const value = metrics[name];
      if (value === undefined) continue;
      let delta = Number.NaN;
      let rate = Number.NaN;
      const rules = this.counterRules[i];
      if (rules !== undefined && !outOfOrder) {
        const vi = d * this.counterCount + (this.counterOf[i] as number);
        const previous = this.lastValueCol[vi] as number;
        if (!Number.isNaN(previous)) {
          const previousTs = this.lastValueTsCol[vi] as number;
          const result = counterDelta(rules, previous, previousTs, value, tsMs, this.delta);
          if (result.flag !== undefined) flags = append(flags, result.flag);
          delta = result.delta;
          if (!Number.isNaN(delta) && tsMs > previousTs) rate = (delta * 1000) / (tsMs - previousTs);
          if (!Number.isNaN(delta)) {
            if (deltas === undefined) deltas = {};
            deltas[name] = delta;
            if (i === this.energyIndex) powerW = averagePowerW(delta, tsMs - previousTs);
          }
        }
        // A withheld counter delta keeps the last trusted value as the anchor, so one glitch costs one reading.
        if (Number.isNaN(previous) || !Number.isNaN(delta)) {
          this.lastValueCol[vi] = value;
          this.lastValueTsCol[vi] = tsMs;
        }
      }
      if (slot !== NO_WINDOW) this.windows.addValue(slot, i, seq, value, delta);
      if (scorer !== undefined) {
        // A cumulative counter always grows; its rate is what can be anomalous.
        const scored = rules === undefined ? value : rate;
        if (!Number.isNaN(scored)) {
          const scoreSlot = d * m + i;
          const score = scorer.update(scoreSlot, tsMs, scored);
          if (anomalyScore === undefined || score > anomalyScore) anomalyScore = score;
          if (score >= scorer.threshold) {
            const why = scorer.explain(scoreSlot, name, scored);
            anomalies = append(anomalies, {
              kind: 'anomaly',
              id: `${detail.deviceId}:a:${seq}:${name}`,
              deviceId: detail.deviceId,
              seq,
              ts: detail.ts,
              metric: name,
              scored: rules === undefined ? 'value' : 'ratePerSecond',
              observed: scored,
              expectedLow: why.expectedLow,
              expectedHigh: why.expectedHigh,
              detectors: why.detectors,
              score,
              resultId: windowResultId(detail.deviceId, windowStart),
            });
          }
        }
      }
    }

    const temperature = this.temperatureIndex >= 0 ? metrics[TEMPERATURE_METRIC] : undefined;
    const humidity = this.humidityIndex >= 0 ? metrics[HUMIDITY_METRIC] : undefined;
    const dewPoint =
      temperature !== undefined && humidity !== undefined ? dewPointC(temperature, humidity) : undefined;

    // A fixed shape (absent values are undefined, which JSON omits) keeps this hot allocation monomorphic.
    sink.reading(
      {
        kind: 'reading',
        id: `${detail.deviceId}:r:${seq}`,
        deviceId: detail.deviceId,
        seq,
        ts: detail.ts,
        firmware: detail.firmware,
        metrics: metrics as Readonly<Record<string, number>>,
        deltas: deltas ?? EMPTY,
        dewPointC: dewPoint,
        powerW,
        flags: flags ?? NO_FLAGS,
        anomalyScore,
      },
      tsMs,
    );
    if (anomalies !== undefined) {
      for (const anomaly of anomalies) sink.anomaly(anomaly, tsMs);
      if (slot !== NO_WINDOW) this.windows.anomalous[slot] = (this.windows.anomalous[slot] as number) + 1;
      sink.correction(this.anomalyRequest(d, windowStart, seq), windowStart);
    }

    if (tsMs > (this.maxTsCol[d] as number)) {
      this.maxTsCol[d] = tsMs;
      this.closeWindowsThrough(d, tsMs - this.latenessMs, sink);
    }
    return 'accepted';
  }

  /**
   * Moves stream time forward and closes the windows of devices that have been silent for
   * `idleTimeoutMs` of stream time. Call after each record (cheap when nothing is due).
   */
  advanceStreamTime(arrivalMs: number, sink: CalculationSink): void {
    if (arrivalMs > this.streamTimeMs) this.streamTimeMs = arrivalMs;
    const now = this.streamTimeMs;
    if (!(this.idle.peekDeadline() <= now)) return;
    const due: number[] = [];
    while (this.idle.peekDeadline() <= now) {
      const d = this.idle.pop();
      this.queuedCol[d] = 0;
      if (this.olderWindow[d] === NO_WINDOW && this.newerWindow[d] === NO_WINDOW) continue;
      const deadline = (this.lastArrivalCol[d] as number) + this.config.idleTimeoutMs;
      if (deadline > now) {
        this.queuedCol[d] = 1;
        this.idle.push(deadline, d);
      } else {
        due.push(d);
      }
    }
    // Emit in (deadline, device number) order so the output order does not depend on the heap's shape.
    due.sort((a, b) => (this.lastArrivalCol[a] as number) - (this.lastArrivalCol[b] as number) || a - b);
    for (const d of due) this.closeWindowsThrough(d, Number.POSITIVE_INFINITY, sink);
  }

  /** Closes every open window of every device, in device order (end of a replay, or of the stream). */
  flush(sink: CalculationSink): void {
    for (let d = 0; d < this.ids.length; d++) this.closeWindowsThrough(d, Number.POSITIVE_INFINITY, sink);
  }

  // ---- snapshots -----------------------------------------------------------------------------------

  /** Writes stream time and every device's state, in device order. */
  writeState(out: BinaryWriter): void {
    const m = this.metricNames.length;
    const _m = this.metricNames.length;
    out.f64(this.streamTimeMs);
    out.u32(this.ids.length);
    for (let d = 0; d < this.ids.length; d++) {
      out.string(this.ids[d] as string);
      out.f64(this.highestSeqCol[d] as number);
      out.f64(this.highestSeqTsCol[d] as number);
      out.f64(this.maxTsCol[d] as number);
      out.f64(this.lastArrivalCol[d] as number);
      out.f64(this.emittedThroughCol[d] as number);
      out.f64(this.emittedLastSeqCol[d] as number);
      for (let w = d * DEDUP_WORDS; w < d * DEDUP_WORDS + DEDUP_WORDS; w++)
        out.u32(this.seenBits[w] as number);
      const c = this.counterCount;
      for (let i = d * c; i < d * c + c; i++) {
        out.f64(this.lastValueCol[i] as number);
        out.f64(this.lastValueTsCol[i] as number);
      }
      if (this.scorer !== undefined) {
        for (let i = d * m; i < d * m + m; i++) {
          this.scorer.exportSlot(i, this.scoreState, 0);
          for (const word of this.scoreState) out.f64(word);
        }
      }
      const older = this.olderWindow[d] as number;
      const newer = this.newerWindow[d] as number;
      out.u8((older === NO_WINDOW ? 0 : 1) + (newer === NO_WINDOW ? 0 : 2));
      if (older !== NO_WINDOW) this.windows.write(older, out);
      if (newer !== NO_WINDOW) this.windows.write(newer, out);
    }
  }

  /**
   * Reads state written by `writeState`, adding to what is already here. A device present twice (two
   * parents after a merge) keeps the copy that has seen the higher seq.
   */
  readState(input: BinaryReader, ownsDevice?: (deviceId: string) => boolean): void {
    const m = this.metricNames.length;
    const _m = this.metricNames.length;
    const streamTime = input.f64();
    if (streamTime > this.streamTimeMs) this.streamTimeMs = streamTime;
    const count = input.u32();
    const c = this.counterCount;
    const values = new Float64Array(6 + 2 * c);
    const bits = new Uint32Array(DEDUP_WORDS);
    for (let n = 0; n < count; n++) {
      const id = input.string();
      for (let i = 0; i < 6; i++) values[i] = input.f64();
      for (let w = 0; w < DEDUP_WORDS; w++) bits[w] = input.u32();
      for (let i = 0; i < 2 * c; i++) values[6 + i] = input.f64();
      const words = this.scorer === undefined ? 0 : this.scorer.stateWords;
      const scores = new Float64Array(m * words);
      for (let i = 0; i < scores.length; i++) scores[i] = input.f64();
      const windowMask = input.u8();
      const existing = this.index.get(id);
      const keep =
        (ownsDevice === undefined || ownsDevice(id)) &&
        (existing === undefined || (values[0] as number) > (this.highestSeqCol[existing] as number));
      const older = windowMask & 1 ? this.windows.read(input) : NO_WINDOW;
      const newer = windowMask & 2 ? this.windows.read(input) : NO_WINDOW;
      if (!keep) {
        if (older !== NO_WINDOW) this.windows.release(older);
        if (newer !== NO_WINDOW) this.windows.release(newer);
        continue;
      }
      const d = this.addDevice(id);
      if (existing !== undefined) {
        if (this.olderWindow[d] !== NO_WINDOW) this.windows.release(this.olderWindow[d] as number);
        if (this.newerWindow[d] !== NO_WINDOW) this.windows.release(this.newerWindow[d] as number);
      }
      this.highestSeqCol[d] = values[0] as number;
      this.highestSeqTsCol[d] = values[1] as number;
      this.maxTsCol[d] = values[2] as number;
      this.lastArrivalCol[d] = values[3] as number;
      this.emittedThroughCol[d] = values[4] as number;
      this.emittedLastSeqCol[d] = values[5] as number;
      this.seenBits.set(bits, d * DEDUP_WORDS);
      for (let i = 0; i < c; i++) {
        this.lastValueCol[d * c + i] = values[6 + 2 * i] as number;
        this.lastValueTsCol[d * c + i] = values[7 + 2 * i] as number;
      }
      this.olderWindow[d] = older;
      this.newerWindow[d] = newer;
      if (this.scorer !== undefined) {
        for (let i = 0; i < m; i++) this.scorer.importSlot(d * m + i, scores, i * this.scorer.stateWords);
      }
    }
    this.rebuildIdleQueue();
  }

  private rebuildIdleQueue(): void {
    this.idle.clear();
    this.queuedCol.fill(0);
    for (let d = 0; d < this.ids.length; d++) {
      if (this.olderWindow[d] === NO_WINDOW && this.newerWindow[d] === NO_WINDOW) continue;
      this.queuedCol[d] = 1;
      this.idle.push((this.lastArrivalCol[d] as number) + this.config.idleTimeoutMs, d);
    }
  }

  // ---- windows -------------------------------------------------------------------------------------

  /** A reading is late when its window ends at or before this instant. */
  private watermarkOf(d: number): number {
    const byEventTime = (this.maxTsCol[d] as number) - this.latenessMs;
    const emitted = this.emittedThroughCol[d] as number;
    return Math.max(byEventTime, emitted);
  }

  private windowFor(
    d: number,
    startMs: number,
    seq: number,
    arrivalMs: number,
    sink: CalculationSink,
  ): number {
    const older = this.olderWindow[d] as number;
    const newer = this.newerWindow[d] as number;
    if (newer !== NO_WINDOW && this.windows.start[newer] === startMs) return newer;
    if (older !== NO_WINDOW && this.windows.start[older] === startMs) return older;
    const slot = this.windows.allocate(startMs, seq);
    if (newer === NO_WINDOW) {
      this.newerWindow[d] = slot;
      if (this.queuedCol[d] === 0) {
        this.queuedCol[d] = 1;
        this.idle.push(arrivalMs + this.config.idleTimeoutMs, d);
      }
    } else if (startMs > (this.windows.start[newer] as number)) {
      // Lateness < window size bounds open windows to two; a third means the oldest is past due.
      if (older !== NO_WINDOW) this.emitWindow(d, older, sink);
      this.olderWindow[d] = newer;
      this.newerWindow[d] = slot;
    } else {
      if (older !== NO_WINDOW) this.emitWindow(d, older, sink);
      this.olderWindow[d] = slot;
    }
    return slot;
  }

  private closeWindowsThrough(d: number, watermark: number, sink: CalculationSink): void {
    const older = this.olderWindow[d] as number;
    if (older !== NO_WINDOW && (this.windows.start[older] as number) + this.windowMs <= watermark) {
      this.emitWindow(d, older, sink);
      this.olderWindow[d] = NO_WINDOW;
    }
    const newer = this.newerWindow[d] as number;
    if (newer !== NO_WINDOW) {
      if ((this.windows.start[newer] as number) + this.windowMs <= watermark) {
        this.emitWindow(d, newer, sink);
        this.newerWindow[d] = NO_WINDOW;
      }
    }
  }

  private emitWindow(d: number, slot: number, sink: CalculationSink): void {
    const pool = this.windows;
    const deviceId = this.ids[d] as string;
    const startMs = pool.start[slot] as number;
    const received = pool.received[slot] as number;
    const minSeq = pool.minSeq[slot] as number;
    const maxSeq = pool.maxSeq[slot] as number;
    const previousLast = this.emittedLastSeqCol[d] as number;
    // Seqs between the previous window's last and this one's belong here, including those never received.
    const base = previousLast >= 0 && previousLast < maxSeq ? previousLast : minSeq - 1;
    const expected = Math.max(received, maxSeq - base);
    const metrics: Record<string, MetricWindowStats> = {};
    for (let i = 0; i < this.metricNames.length; i++) {
      const count = pool.count(slot, i);
      if (count === 0) continue;
      const c = pool.metricColumns(slot, i);
      const stats: MetricWindowStats = {
        count,
        min: c[COL.min] as number,
        max: c[COL.max] as number,
        mean: roundSignificant(c[COL.mean] as number),
        stddev: roundSignificant(Math.sqrt((c[COL.m2] as number) / count)),
        first: c[COL.first] as number,
        last: c[COL.last] as number,
        sumDelta: this.counterRules[i] === undefined ? undefined : roundSignificant(pool.sumDelta(slot, i)),
      };
      metrics[this.metricNames[i] as string] = stats;
    }
    const resultId = windowResultId(deviceId, startMs);
    sink.window(
      {
        kind: 'window',
        id: `${resultId}:v1`,
        resultId,
        version: 1,
        deviceId,
        windowStart: new Date(startMs).toISOString(),
        windowEnd: new Date(startMs + this.windowMs).toISOString(),
        received,
        expected,
        completeness: expected > 0 ? received / expected : 1,
        firstSeq: minSeq,
        lastSeq: maxSeq,
        anomalous: pool.anomalous[slot] as number,
        metrics,
      },
      startMs,
    );
    const end = startMs + this.windowMs;
    if (end > (this.emittedThroughCol[d] as number)) this.emittedThroughCol[d] = end;
    if (maxSeq > previousLast) this.emittedLastSeqCol[d] = maxSeq;
    pool.release(slot);
  }

  // ---- records -------------------------------------------------------------------------------------

  private missingRecord(d: number, fromSeq: number, toSeq: number, beforeTsMs: number): MissingRecord {
    const deviceId = this.ids[d] as string;
    return {
      kind: 'missing',
      id: `${deviceId}:m:${fromSeq}-${toSeq}`,
      deviceId,
      fromSeq,
      toSeq,
      count: toSeq - fromSeq + 1,
      afterTs: new Date(this.highestSeqTsCol[d] as number).toISOString(),
      beforeTs: new Date(beforeTsMs).toISOString(),
    };
  }

  private gapFilledRequest(d: number, seq: number, ts: string): CorrectionRequest {
    const deviceId = this.ids[d] as string;
    const targetId = `${deviceId}:m:${seq}`;
    return {
      kind: 'correction-request',
      id: `${targetId}:c:${CorrectionReason.GapFilled}`,
      reason: CorrectionReason.GapFilled,
      deviceId,
      targetId,
      seq,
      ts,
    };
  }

  private anomalyRequest(d: number, windowStartMs: number, seq: number): CorrectionRequest {
    const deviceId = this.ids[d] as string;
    const targetId = windowResultId(deviceId, windowStartMs);
    // One request per window however many readings in it alarm: the window is corrected at most once.
    return {
      kind: 'correction-request',
      id: `${targetId}:c:${CorrectionReason.Anomaly}`,
      reason: CorrectionReason.Anomaly,
      deviceId,
      targetId,
      windowStart: new Date(windowStartMs).toISOString(),
      seq,
    };
  }

  private lateRequest(d: number, windowStartMs: number, seq: number): CorrectionRequest {
    const deviceId = this.ids[d] as string;
    const targetId = windowResultId(deviceId, windowStartMs);
    return {
      kind: 'correction-request',
      id: `${targetId}:c:${CorrectionReason.LateEvent}`,
      reason: CorrectionReason.LateEvent,
      deviceId,
      targetId,
      windowStart: new Date(windowStartMs).toISOString(),
      seq,
    };
  }

  // ---- device table --------------------------------------------------------------------------------

  private shiftSeen(d: number, by: number): void {
    const base = d * DEDUP_WORDS;
    const bits = this.seenBits;
    if (by >= DEDUP_HORIZON) {
      bits.fill(0, base, base + DEDUP_WORDS);
    } else {
      const words = by >>> 5;
      const shift = by & 31;
      for (let w = DEDUP_WORDS - 1; w >= 0; w--) {
        const from = w - words;
        let value = from >= 0 ? (bits[base + from] as number) << shift : 0;
        if (shift !== 0 && from - 1 >= 0) value |= (bits[base + from - 1] as number) >>> (32 - shift);
        bits[base + w] = value;
      }
    }
    bits[base] = (bits[base] as number) | 1;
  }

  private addDevice(deviceId: string): number {
    const existing = this.index.get(deviceId);
    if (existing !== undefined) return existing;
    const d = this.ids.length;
    if (d === this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    this.ids.push(deviceId);
    this.index.set(deviceId, d);
    this.highestSeqCol[d] = -1;
    this.highestSeqTsCol[d] = Number.NaN;
    this.maxTsCol[d] = Number.NEGATIVE_INFINITY;
    this.lastArrivalCol[d] = Number.NEGATIVE_INFINITY;
    this.emittedThroughCol[d] = Number.NEGATIVE_INFINITY;
    this.emittedLastSeqCol[d] = -1;
    this.olderWindow[d] = NO_WINDOW;
    this.newerWindow[d] = NO_WINDOW;
    const _m = this.metricNames.length;
    const c = this.counterCount;
    this.lastValueCol.fill(Number.NaN, d * c, d * c + c);
    return d;
  }

  private grow(capacity: number): void {
    const _m = this.metricNames.length;
    this.highestSeqCol = resize(this.highestSeqCol, capacity);
    this.highestSeqTsCol = resize(this.highestSeqTsCol, capacity);
    this.maxTsCol = resize(this.maxTsCol, capacity);
    this.lastArrivalCol = resize(this.lastArrivalCol, capacity);
    this.emittedThroughCol = resize(this.emittedThroughCol, capacity);
    this.emittedLastSeqCol = resize(this.emittedLastSeqCol, capacity);
    this.seenBits = resize(this.seenBits, capacity * DEDUP_WORDS);
    this.olderWindow = resize(this.olderWindow, capacity);
    this.newerWindow = resize(this.newerWindow, capacity);
    this.queuedCol = resize(this.queuedCol, capacity);
    this.lastValueCol = resize(this.lastValueCol, capacity * this.counterCount);
    this.lastValueTsCol = resize(this.lastValueTsCol, capacity * this.counterCount);
    this.scorer?.ensureCapacity(capacity * this.metricNames.length);
    this.capacity = capacity;
  }
}

const EMPTY: Readonly<Record<string, number>> = Object.freeze({});
const NO_FLAGS: readonly ReadingFlag[] = Object.freeze([]);

/** Flags and anomalies are rare: their arrays are only allocated for a reading that has one. */
function append<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}
