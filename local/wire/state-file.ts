/**
 * Keeps a stand-in's state as one JSON file when the stack persists, so a restart resumes. Writes are
 * coalesced (at most one per `delayMs`) and atomic (temp file + rename), so a crash leaves the previous
 * complete file, never a torn one; what changed in the last `delayMs` before a SIGKILL can be lost.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StateStore<T> {
  readonly state: T;
  /** Call after each mutation. */
  changed(): void;
  /** Writes any pending change now (on stop). */
  flush(): void;
}

export function loadState<T>(path: string | undefined, initial: () => T, delayMs = 100): StateStore<T> {
  if (path === undefined) {
    const state = initial();
    return { state, changed() {}, flush() {} };
  }
  let state: T;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    state = initial();
  }
  mkdirSync(dirname(path), { recursive: true });
  let timer: NodeJS.Timeout | undefined;
  const write = (): void => {
    timer = undefined;
    const temp = `${path}.tmp`;
    writeFileSync(temp, JSON.stringify(state));
    renameSync(temp, path);
  };
  return {
    state,
    changed() {
      timer ??= setTimeout(write, delayMs);
    },
    flush() {
      if (timer === undefined) return;
      clearTimeout(timer);
      write();
    },
  };
}
