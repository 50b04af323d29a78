/**
 * A small seeded PRNG (xoshiro128**, Blackman & Vigna) so forests are reproducible: the same seed and the
 * same input give the same trees, scores and snapshots. `Math.random` cannot be seeded or serialized.
 * The whole state is four 32-bit words, saved with the model so a restored forest continues identically.
 */
const TWO_POW_MINUS_32 = 2 ** -32;

export class SeededRandom {
  readonly state: Uint32Array;

  constructor(state: Uint32Array) {
    if (state.length !== 4 || (state[0]! | state[1]! | state[2]! | state[3]!) === 0) {
      // xoshiro's all-zero state is a fixed point: it would return 0 forever.
      throw new RangeError('SeededRandom needs four 32-bit words, not all zero');
    }
    this.state = state;
  }

  /** Expands a 32-bit seed with splitmix32, as the xoshiro authors recommend for seeding. */
  static fromSeed(seed: number): SeededRandom {
    let x = seed >>> 0;
    const state = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      state[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 1;
    return new SeededRandom(state);
  }

  nextUint32(): number {
    const s = this.state;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const t = s1 << 9;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution (enough for cut positions over a 256-point box). */
  next(): number {
    return this.nextUint32() * TWO_POW_MINUS_32;
  }

  /** Uniform in the open interval (0, 1), safe to pass to `Math.log`. */
  nextOpen(): number {
    return (this.nextUint32() + 0.5) * TWO_POW_MINUS_32;
  }
}
