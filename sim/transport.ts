/**
 * The two ports the simulator sends through, and their AWS SDK adapters. The sender only sees per-entry
 * outcomes and typed errors, never the SDK, so its batching and retry rules read on their own.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { FleetstreamError } from '../consumers/contract/errors.ts';
import type { BusEntry, StreamEntry } from './payloads.ts';

export interface EntryOutcome {
  readonly ok: boolean;
  /** The service's error code for a failed entry. */
  readonly code?: string;
  readonly retryable?: boolean;
}

export interface EventBusPort {
  /** One PutEvents call; outcomes line up with `entries`. Throws FleetstreamError when the call fails. */
  putEvents(entries: readonly BusEntry[]): Promise<EntryOutcome[]>;
}

export interface StreamPort {
  /** One PutRecords call; outcomes line up with `entries`. Throws FleetstreamError when the call fails. */
  putRecords(entries: readonly StreamEntry[]): Promise<EntryOutcome[]>;
}

/** Entry error codes worth another attempt: capacity and service faults, not a bad entry. */
const RETRYABLE_ENTRY_CODES = new Set([
  'ThrottlingException',
  'InternalException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
]);

export function isRetryableEntryCode(code: string): boolean {
  return RETRYABLE_ENTRY_CODES.has(code);
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Maps an SDK or network error to a typed error: throttling, 5xx and lost connections are retryable. */
export function toSendError(service: string, error: unknown): FleetstreamError {
  if (error instanceof FleetstreamError) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const code = e.name !== undefined && e.name !== 'Error' ? e.name : (e.code ?? 'UnknownError');
  const retryable =
    e.$retryable !== undefined ||
    e.$fault === 'server' ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    isRetryableEntryCode(code) ||
    /Throttl|TimeoutError|ECONNRESET|ECONNREFUSED|EPIPE|socket hang up/i.test(`${code} ${String(error)}`);
  return new FleetstreamError(`${service.toUpperCase()}_${code}`, `${service}: ${String(error)}`, {
    retryable,
    cause: error,
  });
}

export function eventBridgePort(client: EventBridgeClient, busName: string): EventBusPort {
  return {
    async putEvents(entries) {
      let results: PutEventsResultEntry[] | undefined;
      try {
        const response = await client.send(
          new PutEventsCommand({ Entries: entries.map((entry) => ({ ...entry, EventBusName: busName })) }),
        );
        results = response.Entries;
      } catch (error) {
        throw toSendError('eventbridge', error);
      }
      return entries.map((_, i) => outcomeOf(results?.[i]?.ErrorCode, results?.[i] !== undefined));
    },
  };
}

export function kinesisPort(client: KinesisClient, streamName: string): StreamPort {
  return {
    async putRecords(entries) {
      let records: { ErrorCode?: string }[] | undefined;
      try {
        const response = await client.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: entries.map((entry) => ({ Data: entry.data, PartitionKey: entry.partitionKey })),
          }),
        );
        records = response.Records;
      } catch (error) {
        throw toSendError('kinesis', error);
      }
      return entries.map((_, i) => outcomeOf(records?.[i]?.ErrorCode, records?.[i] !== undefined));
    },
  };
}

function outcomeOf(errorCode: string | undefined, present: boolean): EntryOutcome {
  // A response that lists fewer entries than were sent is treated as a service fault for the missing ones.
  if (!present) return { ok: false, code: 'MissingEntryResult', retryable: true };
  if (errorCode === undefined || errorCode === '') return { ok: true };
  return { ok: false, code: errorCode, retryable: isRetryableEntryCode(errorCode) };
}
