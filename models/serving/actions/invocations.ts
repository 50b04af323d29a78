/**
 * `POST /invocations`: the SageMaker inference container contract. Scores each record against the loaded
 * forest without learning from it (a served model is read-only, like SageMaker's). Container errors are
 * plain 4xx/5xx with a JSON message; SageMaker relays them to the caller as ModelError.
 */
import { FleetstreamError } from '../../../consumers/contract/errors.ts';
import { acceptsJson, encodeScores, isSupportedContentType, mediaType, parseRecords } from '../codec.ts';
import type { ServingContext, ServingRequest, ServingResponse } from './types.ts';

function failure(status: number, message: string): ServingResponse {
  return { status, contentType: 'application/json', body: JSON.stringify({ message }) };
}

export function invocations(context: ServingContext, request: ServingRequest): ServingResponse {
  const model = context.model;
  const type = mediaType(request.contentType);
  if (!isSupportedContentType(type)) {
    return failure(
      415,
      `content type '${type}' is not supported; use text/csv, application/json or application/jsonlines`,
    );
  }
  if (!acceptsJson(request.accept)) return failure(406, 'this model answers application/json only');
  try {
    const records = parseRecords(type, request.body, model.dimensions);
    // Tree by tree over the whole request: the scores `score` gives one at a time, faster (bench:models).
    const scores = Array.from(model.scoreAll(records));
    // Finite inputs near the float range overflow inside the trees; JSON would carry the NaN as null.
    const unscorable = scores.findIndex((score) => !Number.isFinite(score));
    if (unscorable >= 0) {
      return failure(
        400,
        `record ${unscorable + 1}: cannot be scored, its values are beyond the model's numeric range`,
      );
    }
    return { status: 200, contentType: 'application/json', body: encodeScores(scores) };
  } catch (error) {
    if (error instanceof FleetstreamError && error.code === 'MODEL_INPUT_INVALID')
      return failure(400, error.message);
    throw error;
  }
}
