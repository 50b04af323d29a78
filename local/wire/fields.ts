/**
 * Reading fields of a JSON request the way AWS validates them: a wrong type or a missing required field
 * is the service's validation error, never a crash. Each service passes its own error type name.
 */

import { decodeStrictBase64 } from '../../consumers/contract/base64.ts';
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

/**
 * Decodes a blob member as the JSON protocols carry it (standard, padded base64); the services refuse
 * anything else while deserializing, with SerializationException.
 */
export function decodeBlob(value: string, where: string): Buffer {
  const bytes = decodeStrictBase64(value);
  if (bytes === undefined) {
    throw new ServiceError(
      'SerializationException',
      `Value at '${where}' is not valid base64-encoded binary data`,
    );
  }
  return bytes;
}
