/**
 * Errors that cross a port. Callers branch on `code` (stable) and `retryable`, never on message text.
 */
export class FleetstreamError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** Configuration that cannot be used; raised once, at start-up. */
export class ConfigError extends FleetstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A state snapshot that cannot be restored (wrong format, version or corrupted). */
export class SnapshotError extends FleetstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SNAPSHOT_INVALID', message, options);
  }
}

/** An AWS dependency failed in a way worth retrying (throttling, 5xx, timeouts). */
export class TransientServiceError extends FleetstreamError {
  constructor(service: string, message: string, options?: { cause?: unknown }) {
    super(`${service.toUpperCase()}_TRANSIENT`, message, { retryable: true, ...options });
  }
}

/** Some entries of a batch were not accepted after all retries; the caller must not checkpoint. */
export class PartialDeliveryError extends FleetstreamError {
  readonly failedCount: number;

  constructor(sink: string, failedCount: number, options?: { cause?: unknown }) {
    super('PARTIAL_DELIVERY', `${sink}: ${failedCount} entries not delivered after retries`, {
      retryable: true,
      ...options,
    });
    this.failedCount = failedCount;
  }
}
