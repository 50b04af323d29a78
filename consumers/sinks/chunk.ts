/**
 * Splits entries into batches that respect a service's batch limits, keeping their order.
 */

export interface BatchLimits {
  /** Most entries per request (Firehose PutRecordBatch: 500; SQS SendMessageBatch: 10). */
  readonly maxEntries: number;
  /** Most bytes per request (Firehose: 4 MiB; SQS: 256 KiB). */
  readonly maxBatchBytes: number;
  /** Most bytes per entry (Firehose: 1000 KiB; SQS: 256 KiB). */
  readonly maxEntryBytes: number;
}

/**
 * Greedy, order-preserving chunking. Entries larger than `maxEntryBytes` are returned apart in
 * `oversized` (no request could ever carry them); the caller decides what that means.
 */
export function chunkBySize<T>(
  entries: readonly T[],
  sizeOf: (entry: T) => number,
  limits: BatchLimits,
): { batches: T[][]; oversized: T[] } {
  const batches: T[][] = [];
  const oversized: T[] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (size > limits.maxEntryBytes || size > limits.maxBatchBytes) {
      oversized.push(entry);
      continue;
    }
    if (current.length === limits.maxEntries || currentBytes + size > limits.maxBatchBytes) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}
