/** The long-running loop (`startCorrections`): polls both queues, settles a request, stops cleanly. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listFailures } from '../../anomaly/correction/failures.ts';
import { DeadLetterReason } from '../../anomaly/correction/names.ts';
import { sendCorrectionRequests } from '../../anomaly/correction/queues.ts';
import { startCorrections } from '../../anomaly/correction/service.ts';
import { type Harness, startHarness } from './harness.ts';

describe('startCorrections', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  it('takes a request through the handler and the DLQ processor to failure storage, then stops', async () => {
    const running = await startCorrections(h.clients, {
      pollIntervalMs: 50,
      maxDeadLetterAttempts: 1,
      deadLetterBaseDelaySeconds: 0,
    });
    try {
      // A window nobody ever emitted: RESULT_NOT_FOUND, and with one attempt allowed, straight to storage.
      const windowStart = '2026-11-23T12:00:00.000Z';
      await sendCorrectionRequests(h.clients.sqs, running.service.urls.queueUrl, [
        {
          request: {
            kind: 'correction-request',
            id: 'ghost:w:1795435200000:c:LATE_EVENT',
            reason: 'LATE_EVENT',
            deviceId: 'ghost',
            targetId: 'ghost:w:1795435200000',
            windowStart,
            seq: 3,
          },
          eventMs: Date.parse(windowStart),
        },
      ]);
      const deadline = Date.now() + 20_000;
      while (running.stats().failed === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        {
          requested: running.stats().requested,
          failed: running.stats().failed,
          corrected: running.stats().corrected,
        },
        { requested: 1, failed: 1, corrected: 0 },
      );
      const [failure] = await listFailures(running.service.store, DeadLetterReason.ResultNotFound);
      assert.ok(failure?.key.startsWith('failures/corrections/RESULT_NOT_FOUND/dt='));
    } finally {
      await running.stop();
    }
  });
});
