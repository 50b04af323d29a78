/**
 * The least a consumer that delivers results can do, as a record processor: decode each record's JSON and
 * forward it as one partitioned line. No validation, verification, calculation, detection, state or raw
 * archive. bench:e2e runs it through the same runtime (leases, GetRecords, Firehose, checkpoints) to show what
 * the runtime alone costs against the ceiling, apart from the work the real processor does per record.
 */
import { devicePartOf, partitionOf } from '../../consumers/contract/layout.ts';
import type { StreamRecord } from '../../consumers/contract/outputs.ts';
import type { BatchOutcome, EncodedOutput, RecordProcessorApi } from '../../consumers/processor/types.ts';

const nothing = (): BatchOutcome => ({
  results: [],
  archive: [],
  rejections: [],
  corrections: [],
  counts: { in: 0, accepted: 0, rejected: 0, duplicates: 0 },
});

export function createForwardingProcessor(): RecordProcessorApi {
  return {
    process(records: readonly StreamRecord[]): BatchOutcome {
      const results: EncodedOutput[] = [];
      for (const record of records) {
        const text = Buffer.from(record.data).toString('utf8');
        const { deviceId } = (JSON.parse(text) as { detail: { deviceId: string } }).detail;
        const { dt, hour } = partitionOf(record.arrivalMs);
        // The device's own part, so Firehose writes as many objects per flush as for the pipeline's lines.
        results.push({
          id: record.sequenceNumber,
          kind: 'forwarded',
          deviceId,
          partitionMs: record.arrivalMs,
          line: `{"dt":"${dt}","hour":"${hour}","part":"${devicePartOf(deviceId)}",${text.slice(1)}\n`,
        });
      }
      const counts = { in: records.length, accepted: records.length, rejected: 0, duplicates: 0 };
      return { ...nothing(), results, counts };
    },
    flush: nothing,
    snapshot: () => new Uint8Array(0),
    restore() {},
    deviceCount: 0,
  };
}
