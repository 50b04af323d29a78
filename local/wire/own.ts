/**
 * State maps keyed by names a caller chooses (queues, delivery streams, buses, rules, targets, buffers) are
 * plain objects, so `constructor`, `toString` or `__proto__` would otherwise reach Object.prototype: a
 * lookup finds a "resource" that does not exist and an assignment to `__proto__` silently replaces the
 * prototype. Every such read and write goes through these two.
 */

/** The entry stored under `key`, never an inherited member. */
export function ownEntry<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Stores `value` under `key` as an ordinary own property, `__proto__` included. */
export function setOwnEntry<T>(map: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}
