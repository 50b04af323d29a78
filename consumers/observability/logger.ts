/**
 * Structured JSON logs, one object per line, to stderr by default. Stdout is reserved: a MultiLang
 * child speaks its protocol there, and one stray byte corrupts it.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ shardId }`). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Written as `service` on every line. */
  readonly service: string;
  /** @default 'info' (or `LOG_LEVEL` when set) */
  readonly level?: LogLevel;
  /** Where lines go. @default process.stderr */
  readonly write?: (line: string) => void;
  /** Fields on every line. */
  readonly fields?: LogFields;
}

function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const withCode = error as Error & { code?: unknown; retryable?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(withCode.code === undefined ? {} : { code: withCode.code }),
    ...(withCode.retryable === undefined ? {} : { retryable: withCode.retryable }),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

function parseLevel(value: string | undefined): LogLevel | undefined {
  return value !== undefined && value in LEVEL_RANK ? (value as LogLevel) : undefined;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVEL_RANK[options.level ?? parseLevel(process.env.LOG_LEVEL) ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base: LogFields = { service: options.service, ...options.fields };

  const make = (context: LogFields): Logger => {
    const log = (level: LogLevel, message: string, fields?: LogFields): void => {
      if (LEVEL_RANK[level] < threshold) return;
      const entry: Record<string, unknown> = { time: new Date().toISOString(), level, message, ...context };
      if (fields !== undefined) {
        for (const [key, value] of Object.entries(fields)) entry[key] = serializeError(value);
      }
      let line: string;
      try {
        line = JSON.stringify(entry);
      } catch {
        // A circular or BigInt field must not take the process down with it.
        line = JSON.stringify({ time: entry.time, level, message, ...context, unserializableFields: true });
      }
      write(`${line}\n`);
    };
    return {
      debug: (message, fields) => log('debug', message, fields),
      info: (message, fields) => log('info', message, fields),
      warn: (message, fields) => log('warn', message, fields),
      error: (message, fields) => log('error', message, fields),
      child: (fields) => make({ ...context, ...fields }),
    };
  };
  return make(base);
}

/** For tests and library callers that do not want output. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
