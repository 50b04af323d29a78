/**
 * The KCL MultiLang protocol, typed. The daemon (Java, `aws-kcl` bootstrap) writes one JSON object per
 * line on the child's stdin; the child answers on stdout. Every action except `checkpoint` is answered
 * with exactly one `status` naming it; the daemon sends nothing else to a shard until that status.
 * A `checkpoint` from the child is answered by a `checkpoint` from the daemon, with `error` on failure.
 *
 * Bad input is sorted at parse time: a line that is not a known action is skipped (it names nothing to
 * answer); a known action the child cannot act on is a ProtocolError naming the action (the child
 * cannot answer it truthfully, so it exits); a single record of a `processRecords` whose fields are
 * broken is a MalformedRecord, rejected to the DLQ while the rest of the batch goes on.
 */

import { decodeStrictBase64 } from '../../contract/base64.ts';
import { FleetstreamError } from '../../contract/errors.ts';
import { describe } from '../envelope.ts';

export interface MultiLangRecord {
  /** Base64 of the record payload. */
  readonly data: string;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  /** Non-zero only for KPL-aggregated records. */
  readonly subSequenceNumber?: number;
  /** Epoch ms. */
  readonly approximateArrivalTimestamp: number;
  /** `data`, decoded (it was checked to be base64). */
  readonly bytes: Uint8Array;
}

/** A record of a `processRecords` whose fields are broken: it goes to the DLQ, the batch goes on. */
export interface MalformedRecord {
  readonly index: number;
  /** The broken field and what is wrong with it, e.g. `records[2].data is not base64`. */
  readonly problem: string;
  readonly data?: unknown;
  readonly sequenceNumber?: string;
  readonly subSequenceNumber?: number;
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
      /** The batch's records that could not be read, in batch order. */
      readonly malformed: readonly MalformedRecord[];
      /** The batch's last position (readable record or not): where the child checkpoints after it. */
      readonly last?: Pick<MultiLangRecord, 'sequenceNumber' | 'subSequenceNumber'>;
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

/**
 * A line the child cannot use. `action` is set when the line names a known action: the daemon then
 * waits for an answer the child cannot give truthfully, which is fatal (stderr, exit code 1; the daemon
 * restarts the shard from its last checkpoint). Without it, the line is skipped.
 */
export class ProtocolError extends FleetstreamError {
  readonly action: string | undefined;

  constructor(message: string, action?: string) {
    super('PROTOCOL_VIOLATION', message);
    this.action = action;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, field: string, action: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ProtocolError(`${action}.${field} must be a string`, action);
  return value;
}

const SEQUENCE_NUMBER = /^[0-9]{1,128}$/;

function parseRecord(value: unknown, index: number): MultiLangRecord | MalformedRecord {
  const record = isObject(value) ? value : {};
  const {
    data,
    partitionKey,
    sequenceNumber,
    subSequenceNumber,
    approximateArrivalTimestamp: arrival,
  } = record;
  const sequence =
    typeof sequenceNumber === 'string' && SEQUENCE_NUMBER.test(sequenceNumber) ? sequenceNumber : undefined;
  const subSequence = typeof subSequenceNumber === 'number' ? subSequenceNumber : undefined;
  const arrivalMs =
    typeof arrival === 'number' && Number.isFinite(arrival) && arrival >= 0 ? arrival : undefined;
  const bytes = typeof data === 'string' ? decodeStrictBase64(data) : undefined;
  const at = `records[${index}]`;
  let problem: string | undefined;
  if (!isObject(value)) problem = `${at} is ${describe(value)}`;
  else if (typeof data !== 'string') problem = `${at}.data is ${describe(data)}`;
  else if (bytes === undefined) problem = `${at}.data is not base64`;
  else if (sequence === undefined) problem = `${at}.sequenceNumber is ${describe(sequenceNumber)}`;
  else if (typeof partitionKey !== 'string' || partitionKey === '')
    problem = `${at}.partitionKey is ${describe(partitionKey)}`;
  else if (arrivalMs === undefined) problem = `${at}.approximateArrivalTimestamp is ${describe(arrival)}`;
  if (problem === undefined && bytes !== undefined && sequence !== undefined && arrivalMs !== undefined) {
    return {
      data: data as string,
      bytes,
      partitionKey: partitionKey as string,
      sequenceNumber: sequence,
      ...(subSequence === undefined ? {} : { subSequenceNumber: subSequence }),
      approximateArrivalTimestamp: arrivalMs,
    };
  }
  return {
    index,
    problem: problem ?? `${at} is unreadable`,
    data,
    ...(sequence === undefined ? {} : { sequenceNumber: sequence }),
    ...(subSequence === undefined ? {} : { subSequenceNumber: subSequence }),
    ...(arrivalMs === undefined ? {} : { approximateArrivalTimestamp: arrivalMs }),
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
      const shardId = optionalString(value.shardId, 'shardId', 'initialize');
      if (shardId === undefined) throw new ProtocolError('initialize without shardId', 'initialize');
      const sequenceNumber = optionalString(value.sequenceNumber, 'sequenceNumber', 'initialize');
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
      if (!Array.isArray(value.records))
        throw new ProtocolError(`processRecords.records is ${describe(value.records)}`, 'processRecords');
      const records: MultiLangRecord[] = [];
      const malformed: MalformedRecord[] = [];
      let last: Pick<MultiLangRecord, 'sequenceNumber' | 'subSequenceNumber'> | undefined;
      value.records.forEach((entry: unknown, index) => {
        const parsed = parseRecord(entry, index);
        if ('problem' in parsed) malformed.push(parsed);
        else records.push(parsed);
        if (parsed.sequenceNumber !== undefined)
          last = {
            sequenceNumber: parsed.sequenceNumber,
            ...(parsed.subSequenceNumber === undefined
              ? {}
              : { subSequenceNumber: parsed.subSequenceNumber }),
          };
      });
      return {
        action: 'processRecords',
        records,
        malformed,
        ...(last === undefined ? {} : { last }),
        ...(typeof value.millisBehindLatest === 'number'
          ? { millisBehindLatest: value.millisBehindLatest }
          : {}),
      };
    }
    case 'checkpoint': {
      // Any error, whatever its type, is a refusal; a reply is never ambiguous enough to be fatal.
      const error =
        value.error === undefined || value.error === null
          ? undefined
          : typeof value.error === 'string'
            ? value.error
            : JSON.stringify(value.error);
      const sequenceNumber = typeof value.sequenceNumber === 'string' ? value.sequenceNumber : undefined;
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
        throw new ProtocolError(`shutdown.reason is ${describe(value.reason)}`, 'shutdown');
      return { action: 'shutdown', reason: value.reason };
    default:
      throw new ProtocolError(`unknown action ${JSON.stringify(value.action)}`);
  }
}

export function encodeChildMessage(message: ChildMessage): string {
  return `${JSON.stringify(message)}\n`;
}
