/**
 * Open windows, stored column-wise in typed arrays and addressed by slot. A device holds at most two open
 * windows (the current one and the previous one while it is inside the allowed lateness), so slots come
 * and go with a free list instead of living inside per-device objects.
 */

import type { BinaryReader, BinaryWriter } from './binary.ts';

/** Per-metric columns of a window slot (offsets into a slot's metric block). */
const MIN = 0;
const MAX = 1;
const MEAN = 2;
/** Welford's sum of squared deviations from the mean. */
const M2 = 3;
const FIRST = 4;
const LAST = 5;
const METRIC_COLUMNS = 6;
/** First/last seq per metric are stored as int32 offsets from the slot's base seq: 8 bytes, not 16. */
const SEQ_OFFSET_MIN = -0x80000000;
const SEQ_OFFSET_MAX = 0x7fffffff;

export class WindowPool {
  readonly metricCount: number;
  /** Counter number of each metric, or -1 for gauges: only counters pay for a sum of deltas. */
  private readonly counterOf: Int32Array;
  private readonly counterCount: number;
  capacity = 0;
  start = new Float64Array(0);
  received = new Uint32Array(0);
  anomalous = new Uint32Array(0);
  /** The seq of the slot's first reading; per-metric first/last seqs are offsets from it. */
  baseSeq = new Float64Array(0);
  minSeq = new Float64Array(0);
  maxSeq = new Float64Array(0);
  /** count per (slot, metric) */
  counts = new Uint32Array(0);
  /** METRIC_COLUMNS float64 per (slot, metric) */
  values = new Float64Array(0);
  /** sum of usable deltas per (slot, counter) */
  sumDeltas = new Float64Array(0);
  /** first and last seq offset per (slot, metric) */
  seqOffsets = new Int32Array(0);
  private free: number[] = [];
  private highWater = 0;

  constructor(counterOf: readonly number[]) {
    this.metricCount = counterOf.length;
    this.counterOf = Int32Array.from(counterOf);
    this.counterCount = counterOf.filter((k) => k >= 0).length;
  }

  get inUse(): number {
    return this.highWater - this.free.length;
  }

  allocate(startMs: number, baseSeq: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater === this.capacity) this.grow(Math.max(1024, this.capacity * 2));
      slot = this.highWater++;
    }
    this.start[slot] = startMs;
    this.baseSeq[slot] = baseSeq;
    this.received[slot] = 0;
    this.anomalous[slot] = 0;
    this.minSeq[slot] = Number.POSITIVE_INFINITY;
    this.maxSeq[slot] = -1;
    const m = this.metricCount;
    this.counts.fill(0, slot * m, slot * m + m);
    const c = this.counterCount;
    this.sumDeltas.fill(0, slot * c, slot * c + c);
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Folds one metric value of a reading into the slot. `delta` is NaN when there is no usable delta. */
  addValue(slot: number, metric: number, seq: number, value: number, delta: number): void {
    const ci = slot * this.metricCount + metric;
    const base = ci * METRIC_COLUMNS;
    const v = this.values;
    const counter = this.counterOf[metric] as number;
    if (counter >= 0 && !Number.isNaN(delta)) {
      const si = slot * this.counterCount + counter;
      this.sumDeltas[si] = (this.sumDeltas[si] as number) + delta;
    }
    const n = (this.counts[ci] as number) + 1;
    this.counts[ci] = n;
    const offset = Math.max(SEQ_OFFSET_MIN, Math.min(SEQ_OFFSET_MAX, seq - (this.baseSeq[slot] as number)));
    const oi = ci * 2;
    if (n === 1) {
      v[base + MIN] = value;
      v[base + MAX] = value;
      v[base + MEAN] = value;
      v[base + M2] = 0;
      v[base + FIRST] = value;
      v[base + LAST] = value;
      this.seqOffsets[oi] = offset;
      this.seqOffsets[oi + 1] = offset;
      return;
    }
    if (value < (v[base + MIN] as number)) v[base + MIN] = value;
    if (value > (v[base + MAX] as number)) v[base + MAX] = value;
    // Welford: numerically stable running mean and variance, O(1) state.
    const mean = v[base + MEAN] as number;
    const d = value - mean;
    const nextMean = mean + d / n;
    v[base + MEAN] = nextMean;
    v[base + M2] = (v[base + M2] as number) + d * (value - nextMean);
    if (offset < (this.seqOffsets[oi] as number)) {
      this.seqOffsets[oi] = offset;
      v[base + FIRST] = value;
    }
    if (offset > (this.seqOffsets[oi + 1] as number)) {
      this.seqOffsets[oi + 1] = offset;
      v[base + LAST] = value;
    }
  }

  count(slot: number, metric: number): number {
    return this.counts[slot * this.metricCount + metric] as number;
  }

  /** The metric's column values of a slot, in column order (see WINDOW_METRIC_COLUMNS) (a view, not a copy). */
  metricColumns(slot: number, metric: number): Float64Array {
    const base = (slot * this.metricCount + metric) * METRIC_COLUMNS;
    return this.values.subarray(base, base + METRIC_COLUMNS);
  }

  write(slot: number, out: BinaryWriter): void {
    out.f64(this.start[slot] as number);
    out.f64(this.baseSeq[slot] as number);
    out.u32(this.received[slot] as number);
    out.u32(this.anomalous[slot] as number);
    out.f64(this.minSeq[slot] as number);
    out.f64(this.maxSeq[slot] as number);
    const m = this.metricCount;
    for (let i = slot * m; i < slot * m + m; i++) out.u32(this.counts[i] as number);
    for (let i = slot * m * 2; i < (slot * m + m) * 2; i++) out.i32(this.seqOffsets[i] as number);
    const words = m * METRIC_COLUMNS;
    for (let i = slot * words; i < slot * words + words; i++) out.f64(this.values[i] as number);
    const c = this.counterCount;
    for (let i = slot * c; i < slot * c + c; i++) out.f64(this.sumDeltas[i] as number);
  }

  /** Sum of usable deltas of a counter metric in a slot. */
  sumDelta(slot: number, metric: number): number {
    return this.sumDeltas[slot * this.counterCount + (this.counterOf[metric] as number)] as number;
  }

  read(input: BinaryReader): number {
    const start = input.f64();
    const slot = this.allocate(start, input.f64());
    this.received[slot] = input.u32();
    this.anomalous[slot] = input.u32();
    this.minSeq[slot] = input.f64();
    this.maxSeq[slot] = input.f64();
    const m = this.metricCount;
    for (let i = slot * m; i < slot * m + m; i++) this.counts[i] = input.u32();
    for (let i = slot * m * 2; i < (slot * m + m) * 2; i++) this.seqOffsets[i] = input.i32();
    const words = m * METRIC_COLUMNS;
    for (let i = slot * words; i < slot * words + words; i++) this.values[i] = input.f64();
    const c = this.counterCount;
    for (let i = slot * c; i < slot * c + c; i++) this.sumDeltas[i] = input.f64();
    return slot;
  }

  private grow(capacity: number): void {
    const m = this.metricCount;
    this.start = resize(this.start, capacity);
    this.baseSeq = resize(this.baseSeq, capacity);
    this.seqOffsets = resize(this.seqOffsets, capacity * m * 2);
    this.received = resize(this.received, capacity);
    this.anomalous = resize(this.anomalous, capacity);
    this.minSeq = resize(this.minSeq, capacity);
    this.maxSeq = resize(this.maxSeq, capacity);
    this.counts = resize(this.counts, capacity * m);
    this.values = resize(this.values, capacity * m * METRIC_COLUMNS);
    this.sumDeltas = resize(this.sumDeltas, capacity * this.counterCount);
    this.capacity = capacity;
  }
}

export const WINDOW_METRIC_COLUMNS = {
  min: MIN,
  max: MAX,
  mean: MEAN,
  m2: M2,
  first: FIRST,
  last: LAST,
} as const;

type TypedArray = Float64Array | Uint32Array | Int32Array | Uint8Array;

export function resize<T extends TypedArray>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array.subarray(0, Math.min(array.length, length)) as unknown as ArrayLike<number>);
  return next;
}
