/**
 * SQS queue state and the rules every action shares: URL/ARN lookup, attribute defaults and limits,
 * MD5 digests as SQS computes them, and redrive to the dead-letter queue after maxReceiveCount.
 */
import { createHash, randomUUID } from 'node:crypto';
import { decodeBlob } from '../wire/fields.ts';
import { ServiceError } from '../wire/json-server.ts';
import { ownEntry } from '../wire/own.ts';
import type { StateStore } from '../wire/state-file.ts';

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** base64 on the JSON wire. */
  BinaryValue?: string;
}

export interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes?: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  sentMs: number;
  visibleAtMs: number;
  receiveCount: number;
  firstReceiveMs?: number;
  /** The handle of the latest receive; older handles stop working for visibility changes. */
  receiptNonce?: string;
  deadLetterSourceArn?: string;
}

export interface QueueState {
  name: string;
  arn: string;
  createdMs: number;
  attributes: Record<string, string>;
  messages: StoredMessage[];
}

export interface SqsState {
  queues: Record<string, QueueState>;
}

export interface SqsContext {
  readonly store: StateStore<SqsState>;
  readonly region: string;
  readonly accountId: string;
  endpoint(): string;
  now(): number;
  /** Wakes long polls waiting on this queue. */
  notify(queueName: string): void;
  /** Resolves when the queue changes, after `ms`, or when the service stops. */
  waitForChange(queueName: string, ms: number): Promise<void>;
  readonly stopped: AbortSignal;
}

/** Queue attributes SQS reports when none were set. Seconds unless the name says otherwise. */
export const ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  VisibilityTimeout: '30',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
};

/** Allowed ranges of the numeric attributes (SQS API reference, SetQueueAttributes). */
const ATTRIBUTE_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  VisibilityTimeout: [0, 43_200],
  MaximumMessageSize: [1024, 262_144],
  MessageRetentionPeriod: [60, 1_209_600],
  DelaySeconds: [0, 900],
  ReceiveMessageWaitTimeSeconds: [0, 20],
};

const SETTABLE = new Set([
  ...Object.keys(ATTRIBUTE_RANGES),
  'RedrivePolicy',
  'Policy',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled',
]);

export function validateAttributes(attributes: Record<string, unknown>): Record<string, string> {
  const valid: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (!SETTABLE.has(name)) throw new ServiceError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    if (typeof value !== 'string')
      throw new ServiceError('InvalidAttributeValue', `Invalid value for ${name}.`);
    const range = ATTRIBUTE_RANGES[name];
    if (range !== undefined) {
      const number = Number(value);
      if (!Number.isInteger(number) || number < range[0] || number > range[1]) {
        throw new ServiceError(
          'InvalidAttributeValue',
          `Invalid value for the parameter ${name}. Must be an integer from ${range[0]} to ${range[1]}.`,
        );
      }
    }
    if (name === 'RedrivePolicy') parseRedrivePolicy(value);
    valid[name] = value;
  }
  return valid;
}

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

function parseRedrivePolicy(text: string): RedrivePolicy {
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw new ServiceError(
      'InvalidAttributeValue',
      'Invalid value for the parameter RedrivePolicy. Reason: not JSON.',
    );
  }
  const { deadLetterTargetArn, maxReceiveCount } = (policy ?? {}) as Record<string, unknown>;
  const count = Number(maxReceiveCount);
  if (typeof deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) {
    throw new ServiceError(
      'InvalidAttributeValue',
      'Invalid value for the parameter RedrivePolicy. Reason: deadLetterTargetArn and maxReceiveCount (1-1000) are required.',
    );
  }
  return { deadLetterTargetArn, maxReceiveCount: count };
}

export function redrivePolicyOf(queue: QueueState): RedrivePolicy | undefined {
  const text = queue.attributes.RedrivePolicy;
  return text === undefined ? undefined : parseRedrivePolicy(text);
}

export function attribute(queue: QueueState, name: string): number {
  return Number(queue.attributes[name] ?? ATTRIBUTE_DEFAULTS[name]);
}

export function queueUrl(context: SqsContext, name: string): string {
  return `${context.endpoint()}/${context.accountId}/${name}`;
}

/** The SDK sends the QueueUrl it was given; only the last path segment (the name) matters here. */
export function queueByUrl(context: SqsContext, url: string): QueueState {
  const name = url.replace(/\/+$/, '').split('/').pop() ?? '';
  const queue = ownEntry(context.store.state.queues, name);
  if (queue === undefined) {
    throw new ServiceError('QueueDoesNotExist', 'The specified queue does not exist.');
  }
  return queue;
}

export function queueByArn(context: SqsContext, arn: string): QueueState | undefined {
  return Object.values(context.store.state.queues).find((queue) => queue.arn === arn);
}

export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * MD5 of message attributes as SQS defines it: attributes sorted by name, each encoded as
 * length-prefixed name, length-prefixed data type, a transport byte (1 string, 2 binary) and the
 * length-prefixed value, lengths as 4-byte big-endian integers.
 */
export function md5OfAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const parts: Buffer[] = [];
  const prefixed = (data: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    parts.push(length, data);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name]!;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      prefixed(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      prefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

// SQS accepts only these characters in a body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point.
const INVALID_BODY_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export interface NewMessage {
  body: string;
  delaySeconds: number | undefined;
  messageAttributes: Record<string, MessageAttributeValue> | undefined;
}

/** Validates a message the way SendMessage does; returns its size in bytes (body plus attributes). */
export function validateMessage(queue: QueueState, message: NewMessage): number {
  if (message.body.length === 0) {
    throw new ServiceError('MissingParameter', 'The request must contain the parameter MessageBody.');
  }
  if (INVALID_BODY_CHARACTER.test(message.body)) {
    throw new ServiceError('InvalidMessageContents', 'Invalid characters found in the message body.');
  }
  let size = Buffer.byteLength(message.body, 'utf8');
  for (const [name, value] of Object.entries(message.messageAttributes ?? {})) {
    size += validateMessageAttribute(name, value);
  }
  const max = attribute(queue, 'MaximumMessageSize');
  if (size > max) {
    throw new ServiceError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`,
    );
  }
  if (message.delaySeconds !== undefined && (message.delaySeconds < 0 || message.delaySeconds > 900)) {
    throw new ServiceError(
      'InvalidParameterValue',
      'Value for parameter DelaySeconds is invalid. Must be an integer from 0 to 900.',
    );
  }
  return size;
}

/** A number as SQS accepts it in a Number attribute: decimal, optionally signed, with an optional exponent. */
const NUMBER_ATTRIBUTE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Validates one message attribute (SendMessage rules); returns its size in bytes. */
function validateMessageAttribute(name: string, value: unknown): number {
  const invalid = (reason: string): never => {
    throw new ServiceError('InvalidParameterValue', `The message attribute '${name}' ${reason}`);
  };
  if (name === '') {
    throw new ServiceError(
      'InvalidParameterValue',
      'The request must contain non-empty message attribute name.',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('must be a structure.');
  const { DataType, StringValue, BinaryValue } = value as Record<string, unknown>;
  if (typeof DataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(DataType)) {
    invalid('has an invalid DataType.');
  }
  if ((StringValue === undefined) === (BinaryValue === undefined)) invalid('must have exactly one value.');
  let size = Buffer.byteLength(name) + Buffer.byteLength(DataType as string);
  if (BinaryValue !== undefined) {
    if (typeof BinaryValue !== 'string') invalid('has a BinaryValue that is not base64-encoded binary data.');
    size += decodeBlob(BinaryValue as string, `MessageAttributes.${name}.BinaryValue`).length;
  } else {
    if (typeof StringValue !== 'string') invalid('has a StringValue that is not a string.');
    if ((DataType as string).startsWith('Number') && !NUMBER_ATTRIBUTE.test(StringValue as string)) {
      throw new ServiceError(
        'InvalidParameterValue',
        `Can't cast the value of message attribute '${name}' to a number.`,
      );
    }
    size += Buffer.byteLength(StringValue as string);
  }
  return size;
}

export function enqueue(context: SqsContext, queue: QueueState, message: NewMessage): StoredMessage {
  const now = context.now();
  const delaySeconds = message.delaySeconds ?? attribute(queue, 'DelaySeconds');
  const stored: StoredMessage = {
    messageId: randomUUID(),
    body: message.body,
    md5OfBody: md5Hex(message.body),
    sentMs: now,
    visibleAtMs: now + delaySeconds * 1000,
    receiveCount: 0,
  };
  if (message.messageAttributes !== undefined && Object.keys(message.messageAttributes).length > 0) {
    stored.messageAttributes = message.messageAttributes;
    stored.md5OfMessageAttributes = md5OfAttributes(message.messageAttributes);
  }
  queue.messages.push(stored);
  context.store.changed();
  context.notify(queue.name);
  return stored;
}

/** Drops messages older than the queue's retention period, as SQS does. */
export function expire(context: SqsContext, queue: QueueState): void {
  const oldestAllowed = context.now() - attribute(queue, 'MessageRetentionPeriod') * 1000;
  const kept = queue.messages.filter((message) => message.sentMs >= oldestAllowed);
  if (kept.length !== queue.messages.length) {
    queue.messages = kept;
    context.store.changed();
  }
}

/**
 * A receipt handle names the queue, the message and the receive it came from. It is opaque to callers;
 * a handle that does not decode is ReceiptHandleIsInvalid, as in SQS.
 */
export function encodeReceiptHandle(queue: QueueState, message: StoredMessage): string {
  return Buffer.from(JSON.stringify([queue.name, message.messageId, message.receiptNonce])).toString(
    'base64url',
  );
}

export function decodeReceiptHandle(handle: string): { queueName: string; messageId: string; nonce: string } {
  try {
    const [queueName, messageId, nonce] = JSON.parse(
      Buffer.from(handle, 'base64url').toString('utf8'),
    ) as unknown[];
    if (typeof queueName === 'string' && typeof messageId === 'string' && typeof nonce === 'string') {
      return { queueName, messageId, nonce };
    }
  } catch {
    // fall through to the service's own error
  }
  throw new ServiceError(
    'ReceiptHandleIsInvalid',
    `The input receipt handle "${handle}" is not a valid receipt handle.`,
  );
}

/** Common checks of the batch actions (SQS limits: 1–10 entries, distinct ids of [A-Za-z0-9_-]{1,80}). */
export function validateBatchIds(entries: readonly { Id?: unknown }[]): void {
  if (entries.length === 0) {
    throw new ServiceError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  }
  if (entries.length > 10) {
    throw new ServiceError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    if (typeof entry.Id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(entry.Id)) {
      throw new ServiceError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (seen.has(entry.Id)) {
      throw new ServiceError('BatchEntryIdsNotDistinct', `Id ${entry.Id} repeated.`);
    }
    seen.add(entry.Id);
  }
}
