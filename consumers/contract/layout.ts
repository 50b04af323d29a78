/**
 * Where things land in S3. Firehose's dynamic partitioning reads `dt` and `hour` from each JSON line
 * (the encoder writes them), so results are queryable by Athena with partition projection.
 */

/** Firehose `partitionKeyFromQuery` expressions (jq) for the results and raw delivery streams. */
export const PARTITION_KEY_QUERIES = { dt: '.dt', hour: '.hour' } as const;

/** Firehose S3 prefixes; `!{…}` are Firehose's own namespaces, evaluated per record batch. */
export const S3_PREFIXES = {
  results: 'results/dt=!{partitionKeyFromQuery:dt}/hour=!{partitionKeyFromQuery:hour}/',
  raw: 'raw/dt=!{partitionKeyFromQuery:dt}/hour=!{partitionKeyFromQuery:hour}/',
  /** Firehose writes records it could not partition or deliver here, by error type. */
  errors: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/',
  /** Items a person must look at (the DLQ processor's last stop). */
  failures: 'failures/',
} as const;

/** `dt=YYYY-MM-DD` and `hour=HH` (UTC) for an instant. */
export function partitionOf(epochMs: number): { dt: string; hour: string } {
  const iso = new Date(epochMs).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}
