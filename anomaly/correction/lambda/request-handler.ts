/**
 * Lambda entry of the correction handler (the CDK's default `correctionHandlerEntry`): SQS event source on
 * the request queue `fleetstream-corrections`, batch item failures reported. Environment: infra/names.ts
 * `RUNTIME_ENV` (anomaly/correction/lambda/config.ts).
 */
import { correctionEntry } from './handler.ts';

export const handler = correctionEntry('requests');
