/**
 * At-most-once correction under concurrent handlers: fast-check generates interleavings (how many
 * handlers, which request each holds, when each starts, whether a dead handler left a stale claim) and
 * every handler runs the real code against real dynalite and s3rver. Whatever the interleaving, exactly
 * one handler writes version 2, nobody writes version 3, and the others end covered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { createCorrectionHandler, type HandleOutcome } from '../../anomaly/correction/handler.ts';
import { CorrectionHistory } from '../../anomaly/correction/history.ts';
import type { CorrectionMessage } from '../../anomaly/correction/messages.ts';
import { S3Store } from '../../anomaly/correction/s3-store.ts';
import { parseFleetConfig } from '../../consumers/config.ts';
import type { CorrectionRequest } from '../../consumers/contract/outputs.ts';
import { DEFAULT_NAMES } from '../../consumers/contract/routing.ts';
import { createRecordProcessor } from '../../consumers/processor/record-processor.ts';
import { type Harness, readings, startHarness, toRecords } from './harness.ts';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
const WINDOW = T0 + 60_000;
const RESULT_ID = `dev-race:w:${WINDOW}`;

function message(reason: 'LATE_EVENT' | 'GAP_FILLED' | 'MISMATCH'): CorrectionMessage {
  const targetId = reason === 'GAP_FILLED' ? 'dev-race:m:8' : RESULT_ID;
  const request: CorrectionRequest = {
    kind: 'correction-request',
    id: `${targetId}:c:${reason}`,
    reason,
    deviceId: 'dev-race',
    targetId,
    ...(reason === 'GAP_FILLED' ? {} : { windowStart: new Date(WINDOW).toISOString() }),
    ...(reason === 'MISMATCH' ? {} : { seq: 8 }),
  };
  return { v: 1, request, eventMs: reason === 'GAP_FILLED' ? T0 + 80_000 : WINDOW };
}

describe('at-most-once correction under concurrent handlers (dynalite, s3rver)', () => {
  let h: Harness;
  let store: S3Store;
  let history: CorrectionHistory;

  before(async () => {
    h = await startHarness();
    const specs = readings('dev-race', 30, T0, 10_000, (seq) => ({
      temperatureC: 20 + (seq % 3),
      energyWh: 100 + seq,
    }));
    const ordered = specs
      .map((s) => (s.seq === 8 ? { ...s, arrivalMs: T0 + 305_000 } : s))
      .sort((a, b) => (a.arrivalMs ?? a.tsMs + 100) - (b.arrivalMs ?? b.tsMs + 100));
    const processor = createRecordProcessor();
    const batch = processor.process(toRecords(ordered));
    await h.deliver({ ...batch, results: [...batch.results, ...processor.flush().results] });
    await h.flush();
    store = new S3Store({ s3: h.clients.s3, bucket: DEFAULT_NAMES.bucket });
    history = new CorrectionHistory(h.clients.dynamodb, DEFAULT_NAMES.correctionTable);
  });

  after(async () => {
    await h.stop();
  });

  it('exactly one handler corrects, whatever the interleaving', async () => {
    const config = parseFleetConfig();
    const reasons = fc.constantFrom('LATE_EVENT' as const, 'GAP_FILLED' as const, 'MISMATCH' as const);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ reason: reasons, delayMs: fc.integer({ min: 0, max: 15 }) }), {
          minLength: 2,
          maxLength: 5,
        }),
        fc.boolean(),
        async (handlers, staleClaim) => {
          // A fresh item per run: no history row, no corrected object.
          await h.clients.dynamodb.send(
            new DeleteItemCommand({
              TableName: DEFAULT_NAMES.correctionTable,
              Key: { id: { S: RESULT_ID } },
            }),
          );
          for (const o of await store.list('results/'))
            if (o.key.includes('correction.')) await store.delete(o.key);
          if (staleClaim) {
            const claimed = await history.claim(RESULT_ID, {
              owner: 'crashed-handler',
              requestKey: 'x',
              reason: 'LATE_EVENT',
              nowMs: 0,
              staleBeforeMs: 0,
              force: false,
            });
            assert.ok(claimed);
          }
          const instances = handlers.map((_, i) =>
            createCorrectionHandler({ store, history, config, owner: `handler-${i}` }),
          );
          const outcomes: HandleOutcome[] = await Promise.all(
            handlers.map(async (spec, i) => {
              await new Promise((resolve) => setTimeout(resolve, spec.delayMs));
              return (instances[i] as (typeof instances)[number]).handle(message(spec.reason));
            }),
          );
          // A handler that met an in-progress claim leaves its message for redelivery: deliver it again now.
          for (let i = 0; i < outcomes.length; i++) {
            if (outcomes[i]?.status === 'busy')
              outcomes[i] = await (instances[i] as (typeof instances)[number]).handle(
                message((handlers[i] as { reason: 'MISMATCH' }).reason),
              );
          }
          const statuses = outcomes.map((o) => o.status);
          assert.equal(statuses.filter((s) => s === 'corrected').length, 1, statuses.join(','));
          for (const status of statuses)
            assert.ok(status === 'corrected' || status === 'covered', statuses.join(','));
          const item = await history.get(RESULT_ID);
          assert.equal(item?.corrections, 1);
          const versions = (await store.list('results/')).filter((o) => o.key.includes('correction.'));
          assert.deepEqual(
            versions.map((o) => o.key.split('.').at(-2)),
            ['v2'],
          );
        },
      ),
      { numRuns: 12 },
    );
  });
});
