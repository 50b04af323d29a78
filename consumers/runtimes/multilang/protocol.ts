/**
 * The KCL MultiLang protocol, typed. The daemon (Java, `aws-kcl` bootstrap) writes one JSON object per
 * line on the child's stdin; the child answers on stdout. Every action except `checkpoint` is answered
 * with exactly one `status` naming it; the daemon sends nothing else to a shard until that status.
 * A `checkpoint` from the child is answered by a `checkpoint` from the daemon, with `error` on failure.
 */

export interface MultiLangRecord {
  /** Base64 of the record payload. */
  readonly data: string;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  /** Non-zero only for KPL-aggregated records. */
  readonly subSequenceNumber?: number;
  /** Epoch ms. */
  readonly approximateArrivalTimestamp?: number;
}

export type DaemonMessage =
  | {
      readonly action: 'initialize';
      readonly shardId: string;
      /** The shard's checkpoint: a sequence number or a sentinel (TRIM_HORIZON, LATEST, AT_TIMESTAMP…). */
      readonly sequenceNumber?: string;
      readonly subSequenceNumber?: number;
    }
  | {
      readonly action: 'processRecords';
      readonly records: readonly MultiLangRecord[];
      readonly millisBehindLatest?: number;
    }
  | { readonly action: 'checkpoint'; readonly sequenceNumber?: string | null; readonly error?: string }
  | { readonly action: 'leaseLost' }
  | { readonly action: 'shardEnded' }
  | { readonly action: 'shutdownRequested' }
  /** Protocol v1 form of leaseLost (`ZOMBIE`) and shardEnded (`TERMINATE`). */
  | { readonly action: 'shutdown'; readonly reason: 'TERMINATE' | 'ZOMBIE' };

export type ChildMessage =
  | { readonly action: 'status'; readonly responseFor: string }
  | {
      readonly action: 'checkpoint';
      /** null checkpoints at the end of the shard (required on shardEnded) or at the last record delivered. */
      readonly sequenceNumber: string | null;
      readonly subSequenceNumber?: number | null;
    };

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ProtocolError(`${field} must be a string`);
  return value;
}

function parseRecord(value: unknown, index: number): MultiLangRecord {
  if (!isObject(value)) throw new ProtocolError(`records[${index}] is not an object`);
  const { data, partitionKey, sequenceNumber, subSequenceNumber, approximateArrivalTimestamp } = value;
  if (typeof data !== 'string') throw new ProtocolError(`records[${index}].data must be base64 text`);
  if (typeof partitionKey !== 'string')
    throw new ProtocolError(`records[${index}].partitionKey must be a string`);
  if (typeof sequenceNumber !== 'string')
    throw new ProtocolError(`records[${index}].sequenceNumber must be a string`);
  return {
    data,
    partitionKey,
    sequenceNumber,
    ...(typeof subSequenceNumber === 'number' ? { subSequenceNumber } : {}),
    ...(typeof approximateArrivalTimestamp === 'number' ? { approximateArrivalTimestamp } : {}),
  };
}

/** Parses one line from the daemon. Throws ProtocolError for anything that is not a known action. */
export function parseDaemonLine(line: string): DaemonMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError('line is not JSON');
  }
  if (!isObject(value) || typeof value.action !== 'string') throw new ProtocolError('line has no action');
  switch (value.action) {
    case 'initialize': {
      const shardId = optionalString(value.shardId, 'shardId');
      if (shardId === undefined) throw new ProtocolError('initialize without shardId');
      const sequenceNumber = optionalString(value.sequenceNumber, 'sequenceNumber');
      return {
        action: 'initialize',
        shardId,
        ...(sequenceNumber === undefined ? {} : { sequenceNumber }),
        ...(typeof value.subSequenceNumber === 'number'
          ? { subSequenceNumber: value.subSequenceNumber }
          : {}),
      };
    }
    case 'processRecords': {
      if (!Array.isArray(value.records)) throw new ProtocolError('processRecords without records');
      return {
        action: 'processRecords',
        records: value.records.map(parseRecord),
        ...(typeof value.millisBehindLatest === 'number'
          ? { millisBehindLatest: value.millisBehindLatest }
          : {}),
      };
    }
    case 'checkpoint': {
      const error = optionalString(value.error, 'error');
      const sequenceNumber = optionalString(value.sequenceNumber, 'sequenceNumber');
      return {
        action: 'checkpoint',
        sequenceNumber: sequenceNumber ?? null,
        ...(error === undefined ? {} : { error }),
      };
    }
    case 'leaseLost':
    case 'shardEnded':
    case 'shutdownRequested':
      return { action: value.action };
    case 'shutdown':
      if (value.reason !== 'TERMINATE' && value.reason !== 'ZOMBIE')
        throw new ProtocolError('shutdown without reason');
      return { action: 'shutdown', reason: value.reason };
    default:
      throw new ProtocolError(`unknown action ${JSON.stringify(value.action)}`);
  }
}

export function encodeChildMessage(message: ChildMessage): string {
  return `${JSON.stringify(message)}\n`;
}
