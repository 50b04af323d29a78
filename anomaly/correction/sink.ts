/**
 * The port a shard worker uses to hand a batch's correction requests to the correction queue. Like the
 * other sinks it resolves only when SQS accepted every request and rejects otherwise (the worker then
 * does not checkpoint and retries the batch; repeats are harmless because a request's key is
 * deterministic and the handler's claim is at-most-once).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { BatchOutcome } from '../../consumers/processor/types.ts';
import { correctionRequestsOf } from './from-outcome.ts';
import { sendCorrectionRequests } from './queues.ts';

export interface CorrectionSink {
  send(outcome: Pick<BatchOutcome, 'corrections' | 'results'>): Promise<void>;
}

export function createSqsCorrectionSink(sqs: SQSClient, queueUrl: string): CorrectionSink {
  return {
    async send(outcome) {
      if (outcome.corrections.length === 0) return;
      await sendCorrectionRequests(sqs, queueUrl, correctionRequestsOf(outcome));
    },
  };
}
