/**
 * `POST /endpoints/{EndpointName}/invocations`: SageMaker Runtime's InvokeEndpoint (restJson1), so the real
 * `@aws-sdk/client-sagemaker-runtime` can call the local model unchanged. As the real service does, it
 * relays the container's answer on success, and wraps a container error into ModelError (424) carrying the
 * container's status and message. Error types travel in `x-amzn-errortype`, which the SDK reads first.
 */
import { invocations } from './invocations.ts';
import type { ServingContext, ServingRequest, ServingResponse } from './types.ts';

/** The variant name SageMaker reports when an endpoint has a single production variant. */
const PRODUCTION_VARIANT = 'AllTraffic';

export function serviceError(status: number, type: string, fields: Record<string, unknown>): ServingResponse {
  return {
    status,
    contentType: 'application/json',
    body: JSON.stringify(fields),
    headers: { 'x-amzn-errortype': type },
  };
}

export function invokeEndpoint(
  context: ServingContext,
  endpointName: string,
  request: ServingRequest,
): ServingResponse {
  if (endpointName !== context.endpointName) {
    return serviceError(400, 'ValidationError', {
      Message: `Endpoint ${endpointName} of account 000000000000 not found.`,
    });
  }
  const answer = invocations(context, request);
  if (answer.status !== 200) {
    return serviceError(424, 'ModelError', {
      Message: `Received client error (${answer.status}) from primary with message "${answer.body}".`,
      OriginalStatusCode: answer.status,
      OriginalMessage: answer.body,
    });
  }
  return { ...answer, headers: { 'x-Amzn-Invoked-Production-Variant': PRODUCTION_VARIANT } };
}
