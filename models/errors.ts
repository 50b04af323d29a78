/** Errors of the model layer, branchable by stable `code`. */
import { FleetstreamError } from '../consumers/contract/errors.ts';

/** A record the model cannot score: wrong number of values or a non-finite value. */
export class ModelInputError extends FleetstreamError {
  constructor(message: string) {
    super('MODEL_INPUT_INVALID', message);
  }
}

/** The model endpoint failed or answered something unusable; the stream falls back to the in-stream score. */
export class ModelEndpointError extends FleetstreamError {
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('MODEL_ENDPOINT_FAILED', message, { retryable: options?.retryable ?? true, cause: options?.cause });
  }
}
