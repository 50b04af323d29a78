/**
 * Lambda entry of the DLQ processor (the CDK's default `dlqProcessorEntry`): SQS event source on the
 * correction DLQ `fleetstream-corrections-dlq` — not the rejected-records DLQ — batch item failures
 * reported. Retries each dead letter with backoff, then stores it in failure storage.
 */
import { correctionEntry } from './handler.ts';

export const handler = correctionEntry('dead-letters');
