/**
 * `GET /ping`: SageMaker's health check; the endpoint goes InService once it answers 200. The server only
 * listens after the model has loaded, so answering at all means healthy.
 */
import type { ServingResponse } from './types.ts';

export function ping(): ServingResponse {
  return { status: 200, contentType: 'application/json', body: JSON.stringify({ status: 'healthy' }) };
}
