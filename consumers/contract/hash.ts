/**
 * FNV-1a, 32-bit (http://www.isthe.com/chongo/tech/comp/fnv/) over the UTF-16 code units of a string: fast,
 * stable across processes, runs and versions. Every deterministic choice by id uses it — which windows the
 * verifier samples, which readings the model client samples, the simulator's seeds, the NAB split — so a
 * replay makes the same choices.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** `fnv1a(text)` in [0, 1): a stable stand-in for a uniform draw, for sampling by id. */
export function unitHash(text: string): number {
  return fnv1a(text) / 2 ** 32;
}
