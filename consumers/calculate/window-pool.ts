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
const SUM_DELTA = 6;
const FIRST_SEQ = 7;
const LAST_SEQ = 8;
const METRIC_COLUMNS = 9;

export class WindowPool {
  readonly metricCount: number;
  capacity = 0;
  start = new Float64Array(0);
  received = new Uint32Array(0);
  anomalous = new Uint32Array(0);
  minSeq = new Float64Array(0);
  maxSeq = new Float64Array(0);
  /** count per (slot, metric) */
  counts = new Uint32Array(0);
  /** METRIC_COLUMNS float64 per (slot, metric) */
  values = new Float64Array(0);
  private free: number[] = [];
  private highWater = 0;

  constructor(metricCount: number) {
    this.metricCount = metricCount;
  }

  get inUse(): number {
    return this.highWater - this.free.length;
  }

  allocate(startMs: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater === this.capacity) this.grow(Math.max(1024, this.capacity * 2));
      slot = this.highWater++;
    }
    this.start[slot] = startMs;
    this.received[slot] = 0;
    this.anomalous[slot] = 0;
    this.minSeq[slot] = Number.POSITIVE_INFINITY;
    this.maxSeq[slot] = -1;
    const m = this.metricCount;
    this.counts.fill(0, slot * m, slot * m + m);
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
    const n = (this.counts[ci] as number) + 1;
    this.counts[ci] = n;
    if (n === 1) {
      v[base + MIN] = value;
      v[base + MAX] = value;
      v[base + MEAN] = value;
      v[base + M2] = 0;
      v[base + FIRST] = value;
      v[base + LAST] = value;
      v[base + SUM_DELTA] = Number.isNaN(delta) ? 0 : delta;
      v[base + FIRST_SEQ] = seq;
      v[base + LAST_SEQ] = seq;
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
    if (!Number.isNaN(delta)) v[base + SUM_DELTA] = (v[base + SUM_DELTA] as number) + delta;
    if (seq < (v[base + FIRST_SEQ] as number)) {
      v[base + FIRST_SEQ] = seq;
      v[base + FIRST] = value;
    }
    if (seq > (v[base + LAST_SEQ] as number)) {
      v[base + LAST_SEQ] = seq;
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
    out.u32(this.received[slot] as number);
    out.u32(this.anomalous[slot] as number);
    out.f64(this.minSeq[slot] as number);
    out.f64(this.maxSeq[slot] as number);
    const m = this.metricCount;
    for (let i = slot * m; i < slot * m + m; i++) out.u32(this.counts[i] as number);
    const words = m * METRIC_COLUMNS;
    for (let i = slot * words; i < slot * words + words; i++) out.f64(this.values[i] as number);
  }

  read(input: BinaryReader): number {
    const slot = this.allocate(input.f64());
    this.received[slot] = input.u32();
    this.anomalous[slot] = input.u32();
    this.minSeq[slot] = input.f64();
    this.maxSeq[slot] = input.f64();
    const m = this.metricCount;
    for (let i = slot * m; i < slot * m + m; i++) this.counts[i] = input.u32();
    const words = m * METRIC_COLUMNS;
    for (let i = slot * words; i < slot * words + words; i++) this.values[i] = input.f64();
    return slot;
  }

  private grow(capacity: number): void {
    const m = this.metricCount;
    this.start = resize(this.start, capacity);
    this.received = resize(this.received, capacity);
    this.anomalous = resize(this.anomalous, capacity);
    this.minSeq = resize(this.minSeq, capacity);
    this.maxSeq = resize(this.maxSeq, capacity);
    this.counts = resize(this.counts, capacity * m);
    this.values = resize(this.values, capacity * m * METRIC_COLUMNS);
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
  sumDelta: SUM_DELTA,
} as const;

type TypedArray = Float64Array | Uint32Array | Int32Array | Uint8Array;

export function resize<T extends TypedArray>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array.subarray(0, Math.min(array.length, length)) as unknown as ArrayLike<number>);
  return next;
}
