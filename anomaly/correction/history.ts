/**
 * The correction history: one DynamoDB row per corrected item (a window's resultId), holding the claim
 * that makes automatic correction at-most-once and every event that touched the item, for audit.
 *
 * At-most-once comes from a conditional write, not from a read-then-write: two handlers that both read
 * "never corrected" still cannot both claim, because DynamoDB evaluates the condition atomically per item
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate).
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

export type ItemStatus = 'claimed' | 'corrected' | 'failed';

/** What happened to one request, as recorded on its item. */
export type EventOutcome =
  /** A new version was written. */
  | 'corrected'
  /** The item's one correction already includes this request's evidence. */
  | 'covered'
  /** The recalculation equals the current version: nothing to correct. */
  | 'confirmed'
  | 'dead-lettered'
  | 'failed'
  | 'redriven';

export interface HistoryEvent {
  readonly atMs: number;
  readonly requestKey: string;
  readonly reason: string;
  readonly outcome: EventOutcome;
  readonly detail?: string;
}

export interface HistoryItem {
  readonly id: string;
  readonly status?: ItemStatus;
  readonly owner?: string;
  readonly claimedAtMs?: number;
  readonly attempts: number;
  /** Automatic corrections written (at most 1; more only through an operator's forced redrive). */
  readonly corrections: number;
  readonly requestKey?: string;
  readonly reason?: string;
  readonly version?: number;
  readonly correctedId?: string;
  readonly supersedes?: string;
  readonly objectKey?: string;
  /** Seqs the correction was calculated from, as ranges (`3-9,12`). */
  readonly seqs?: string;
  readonly lastError?: string;
  readonly events: readonly HistoryEvent[];
}

export interface ClaimRequest {
  readonly owner: string;
  readonly requestKey: string;
  readonly reason: string;
  readonly nowMs: number;
  /** A claim older than this is from a handler that died mid-correction and may be taken over. */
  readonly staleBeforeMs: number;
  /** Operator redrive: a corrected item may be claimed once more. */
  readonly force: boolean;
}

export interface Completion {
  readonly version: number;
  readonly correctedId: string;
  readonly supersedes: string;
  readonly objectKey: string;
  readonly seqs: string;
  readonly event: HistoryEvent;
}

/**
 * Every attribute is aliased in expressions (status and owner are DynamoDB reserved words); DynamoDB
 * rejects aliases an expression does not use, so each call gets exactly the ones it mentions.
 */
function namesIn(...expressions: string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions) {
    for (const match of expression.matchAll(/#(\w+)/g)) names[match[0]] = match[1] as string;
  }
  return names;
}

const CLAIM_UPDATE =
  'SET #status = :claimed, #owner = :owner, #claimedAtMs = :now, #requestKey = :rk, #reason = :reason ADD #attempts :one';
const COMPLETE_UPDATE =
  'SET #status = :corrected, #version = :version, #correctedId = :cid, #supersedes = :sup, #objectKey = :key, #seqs = :seqs, #events = list_append(if_not_exists(#events, :empty), :event) REMOVE #lastError ADD #corrections :one';
const RELEASE_UPDATE =
  'SET #status = :failed, #lastError = :error, #events = list_append(if_not_exists(#events, :empty), :event)';
const APPEND_EVENT = 'SET #events = list_append(if_not_exists(#events, :empty), :event)';
const HELD_BY_OWNER = '#status = :claimed AND #owner = :owner';

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const eventValue = (event: HistoryEvent): AttributeValue => S(JSON.stringify(event));

export class CorrectionHistory {
  private readonly dynamodb: DynamoDBClient;
  readonly tableName: string;

  constructor(dynamodb: DynamoDBClient, tableName: string) {
    this.dynamodb = dynamodb;
    this.tableName = tableName;
  }

  async get(id: string): Promise<HistoryItem | undefined> {
    const { Item: item } = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.tableName, Key: { id: S(id) }, ConsistentRead: true }),
    );
    return item === undefined ? undefined : fromAttributes(item);
  }

  /** True when this caller now holds the item's claim; false when another holds it or it is corrected. */
  async claim(id: string, claim: ClaimRequest): Promise<boolean> {
    const takeable =
      'attribute_not_exists(#status) OR #status = :failed OR (#status = :claimed AND #claimedAtMs < :stale)';
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: S(id) },
          UpdateExpression: CLAIM_UPDATE,
          ConditionExpression: claim.force ? `${takeable} OR #status = :corrected` : takeable,
          ExpressionAttributeNames: namesIn(CLAIM_UPDATE, takeable),
          ExpressionAttributeValues: {
            ':claimed': S('claimed'),
            ':failed': S('failed'),
            ':stale': N(claim.staleBeforeMs),
            ':owner': S(claim.owner),
            ':now': N(claim.nowMs),
            ':rk': S(claim.requestKey),
            ':reason': S(claim.reason),
            ':one': N(1),
            ...(claim.force ? { ':corrected': S('corrected') } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Records the written version; returns the item's correction count afterwards (loop detection). */
  async complete(id: string, owner: string, done: Completion): Promise<number> {
    const { Attributes: after } = await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { id: S(id) },
        UpdateExpression: COMPLETE_UPDATE,
        ConditionExpression: HELD_BY_OWNER,
        ExpressionAttributeNames: namesIn(COMPLETE_UPDATE, HELD_BY_OWNER),
        ExpressionAttributeValues: {
          ':corrected': S('corrected'),
          ':claimed': S('claimed'),
          ':owner': S(owner),
          ':version': N(done.version),
          ':cid': S(done.correctedId),
          ':sup': S(done.supersedes),
          ':key': S(done.objectKey),
          ':seqs': S(done.seqs),
          ':empty': { L: [] },
          ':event': { L: [eventValue(done.event)] },
          ':one': N(1),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(after?.corrections?.N ?? '0');
  }

  /** Gives the claim back after a failed recalculation, so a retry may claim again. */
  async release(id: string, owner: string, error: string, event: HistoryEvent): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: S(id) },
          UpdateExpression: RELEASE_UPDATE,
          ConditionExpression: HELD_BY_OWNER,
          ExpressionAttributeNames: namesIn(RELEASE_UPDATE, HELD_BY_OWNER),
          ExpressionAttributeValues: {
            ':failed': S('failed'),
            ':claimed': S('claimed'),
            ':owner': S(owner),
            ':error': S(error),
            ':empty': { L: [] },
            ':event': { L: [eventValue(event)] },
          },
        }),
      );
    } catch (caught) {
      // Lost the claim to a takeover: the new owner's outcome is the one that counts.
      if (!(caught instanceof ConditionalCheckFailedException)) throw caught;
    }
  }

  /** Appends an event without touching the claim (confirmations, dead letters, covered repeats). */
  async record(id: string, event: HistoryEvent): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { id: S(id) },
        UpdateExpression: APPEND_EVENT,
        ExpressionAttributeNames: namesIn(APPEND_EVENT),
        ExpressionAttributeValues: { ':empty': { L: [] }, ':event': { L: [eventValue(event)] } },
      }),
    );
  }

  /** Every item (operator listing and run accounting; a full scan, so not for the hot path). */
  async scan(): Promise<HistoryItem[]> {
    const items: HistoryItem[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      for (const item of page.Items ?? []) items.push(fromAttributes(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }
}

function fromAttributes(item: Record<string, AttributeValue>): HistoryItem {
  const str = (name: string): string | undefined => item[name]?.S;
  const num = (name: string): number | undefined =>
    item[name]?.N === undefined ? undefined : Number(item[name]?.N);
  const events = (item.events?.L ?? []).map((v) => JSON.parse(v.S ?? '{}') as HistoryEvent);
  const out: Record<string, unknown> = {
    id: str('id') ?? '',
    attempts: num('attempts') ?? 0,
    corrections: num('corrections') ?? 0,
    events,
  };
  for (const name of [
    'status',
    'owner',
    'requestKey',
    'reason',
    'correctedId',
    'supersedes',
    'objectKey',
    'seqs',
    'lastError',
  ]) {
    const value = str(name);
    if (value !== undefined) out[name] = value;
  }
  for (const name of ['claimedAtMs', 'version']) {
    const value = num(name);
    if (value !== undefined) out[name] = value;
  }
  return out as unknown as HistoryItem;
}

/** `[1,2,3,5,7,8]` → `1-3,5,7-8`. */
export function seqRanges(seqs: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < seqs.length) {
    let j = i;
    while (j + 1 < seqs.length && (seqs[j + 1] as number) === (seqs[j] as number) + 1) j++;
    parts.push(i === j ? String(seqs[i]) : `${seqs[i]}-${seqs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function rangesInclude(ranges: string, seq: number): boolean {
  for (const part of ranges.split(',')) {
    if (part === '') continue;
    const [from, to = from] = part.split('-').map(Number);
    if (seq >= (from as number) && seq <= (to as number)) return true;
  }
  return false;
}
