/**
 * Shingling: the point for time t is the last `shingle_size` records (oldest first), so the forest scores
 * the recent shape of a series instead of a single value. A level shift or a changed rhythm is then
 * unusual even when each value on its own is not.
 */
export class Shingle {
  readonly featureDim: number;
  readonly size: number;
  private readonly ring: Float64Array;
  private readonly point: Float64Array;
  private count = 0;

  constructor(featureDim: number, size: number) {
    this.featureDim = featureDim;
    this.size = size;
    this.ring = new Float64Array(featureDim * size);
    this.point = new Float64Array(featureDim * size);
  }

  /**
   * Adds one record and returns the current shingle, or undefined until `size` records have arrived.
   * The returned array is reused by the next call.
   */
  push(record: ArrayLike<number>): Float64Array | undefined {
    const d = this.featureDim;
    const slot = this.count % this.size;
    for (let j = 0; j < d; j++) this.ring[slot * d + j] = record[j]!;
    this.count++;
    if (this.count < this.size) return undefined;
    // Oldest record first: it sits in the slot after the one just written.
    const oldest = this.count % this.size;
    for (let k = 0; k < this.size; k++) {
      const from = ((oldest + k) % this.size) * d;
      this.point.set(this.ring.subarray(from, from + d), k * d);
    }
    return this.point;
  }
}

/**
 * Every shingle of a whole series, each its own copy (what the forest's batch calls take): point k ends at
 * record k + size − 1, so a series of n records gives max(n − size + 1, 0) points.
 */
export function shingleSeries(
  records: Iterable<ArrayLike<number>>,
  featureDim: number,
  size: number,
): Float64Array[] {
  const shingle = new Shingle(featureDim, size);
  const points: Float64Array[] = [];
  for (const record of records) {
    const point = shingle.push(record);
    if (point !== undefined) points.push(point.slice());
  }
  return points;
}
