/**
 * Reading fields of a JSON request the way AWS validates them: a wrong type or a missing required field
 * is the service's validation error, never a crash. Each service passes its own error type name.
 */
import { type JsonObject, ServiceError } from './json-server.ts';

export class Fields {
  readonly input: JsonObject;
  readonly errorType: string;

  constructor(input: JsonObject, errorType: string) {
    this.input = input;
    this.errorType = errorType;
  }

  fail(message: string): never {
    throw new ServiceError(this.errorType, message);
  }

  optionalString(
    name: string,
    limits: { min?: number; max?: number; pattern?: RegExp } = {},
  ): string | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') this.fail(`${name} must be a string`);
    if (limits.min !== undefined && value.length < limits.min) {
      this.fail(
        `Value at '${name}' failed to satisfy constraint: Member must have length greater than or equal to ${limits.min}`,
      );
    }
    if (limits.max !== undefined && value.length > limits.max) {
      this.fail(
        `Value at '${name}' failed to satisfy constraint: Member must have length less than or equal to ${limits.max}`,
      );
    }
    if (limits.pattern !== undefined && !limits.pattern.test(value)) {
      this.fail(
        `Value '${value}' at '${name}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${limits.pattern.source}`,
      );
    }
    return value;
  }

  string(name: string, limits: { min?: number; max?: number; pattern?: RegExp } = {}): string {
    const value = this.optionalString(name, limits);
    if (value === undefined)
      this.fail(`Value null at '${name}' failed to satisfy constraint: Member must not be null`);
    return value;
  }

  optionalInteger(name: string, min: number, max: number): number | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(
        `Value '${String(value)}' for parameter ${name} is invalid. Must be an integer from ${min} to ${max}.`,
      );
    }
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') this.fail(`${name} must be a boolean`);
    return value;
  }

  optionalArray(name: string): unknown[] | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) this.fail(`${name} must be a list`);
    return value;
  }

  /** A list whose members must all be strings (names, patterns). */
  optionalStringArray(name: string): string[] | undefined {
    const value = this.optionalArray(name);
    if (value === undefined) return undefined;
    value.forEach((member, index) => {
      if (typeof member !== 'string') this.fail(`${name}.${index + 1} must be a string`);
    });
    return value as string[];
  }

  array(name: string): unknown[] {
    const value = this.optionalArray(name);
    if (value === undefined)
      this.fail(`Value null at '${name}' failed to satisfy constraint: Member must not be null`);
    return value;
  }

  optionalObject(name: string): JsonObject | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(`${name} must be a structure`);
    return value as JsonObject;
  }

  object(name: string): JsonObject {
    const value = this.optionalObject(name);
    if (value === undefined)
      this.fail(`Value null at '${name}' failed to satisfy constraint: Member must not be null`);
    return value;
  }

  /** A nested structure (list member or sub-object) validated with the same error type. */
  nested(value: unknown, what: string): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(`${what} must be a structure`);
    return new Fields(value as JsonObject, this.errorType);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded base64, which is what the SDKs send for blobs. */
export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

/**
 * Decodes a blob member as the JSON protocols carry it (standard, padded base64). Node's decoder skips
 * characters outside the alphabet (and takes the URL-safe one), so text that is not base64 would otherwise
 * be accepted as some other bytes; the services refuse it while deserializing, with SerializationException.
 * Checked after decoding rather than with `isBase64`: a padded string of the standard alphabet decodes to
 * exactly three bytes per four characters less its padding, and the regular expression costs ~30× the
 * decode on the large blobs Firehose batches carry.
 */
export function decodeBlob(value: string, where: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  if (
    value.length % 4 !== 0 ||
    bytes.length !== (value.length / 4) * 3 - padding ||
    value.includes('-') ||
    value.includes('_')
  ) {
    throw new ServiceError(
      'SerializationException',
      `Value at '${where}' is not valid base64-encoded binary data`,
    );
  }
  return bytes;
}
