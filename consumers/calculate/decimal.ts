/**
 * Results without floating-point noise. Telemetry arrives as short decimals (15251.2 Wh), but doubles
 * cannot hold most of them exactly, so plain arithmetic reports a 0.3 Wh step as 0.3000000000010914 and a
 * mean of 21.5 and 21.6 as 21.550000000000004.
 * - A counter delta is the difference of the decimals as written: when each operand is a decimal of at most
 *   15 significant digits (what a double holds faithfully), the delta is rounded to their decimal places.
 *   An operand with more digits than that is taken as the exact double it is, and so is the delta.
 * - Values derived by arithmetic (power, means, deviations, sums) keep 15 significant digits.
 */

/** 10^k for k in 0..22: every one is a double exactly, so scaling by them adds no error of its own. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
const DIGITS = 15;
/**
 * 10^k up to 10^37 as doubles, only to find a value's decimal exponent: above 10^22 they are not exact, but a
 * value is compared with the same bound every time, so it always gets the same exponent.
 */
const EXPONENT_BOUNDS = Array.from({ length: 38 }, (_, k) => Number(`1e${k}`));
const LARGEST_ROUNDED = EXPONENT_BOUNDS[37]!;
/** 10^15: a decimal of at most 15 significant digits, scaled to an integer, stays below it. */
const LIMIT = 1e15;

/**
 * The fewest decimal places of a decimal of at most 15 significant digits that is this double (15251.2 → 1),
 * or -1 when it has no such decimal: it carries more digits than that, is 10^15 or more, or is not finite.
 */
export function decimalPlaces(x: number): number {
  if (x === 0) return 0;
  const magnitude = Math.abs(x);
  if (!(magnitude < LIMIT)) return -1;
  // Sensor values have few places: count up from 0 while the scaled value stays below 10^15, where the
  // integer is exact and dividing it rounds once to the decimal's double.
  for (let k = 0; k < POWERS_OF_TEN.length && magnitude * POWERS_OF_TEN[k]! < LIMIT; k++) {
    const scale = POWERS_OF_TEN[k]!;
    if (Math.round(x * scale) / scale === x) return k;
  }
  return -1;
}

/**
 * `value + offset − previous` (offset: a counter's wrap point) as the difference of the decimals as written:
 * 15251.2 − 15250.9 is 0.3, not 0.3000000000010914. Plain double arithmetic when an operand has more than
 * 15 significant digits.
 */
export function decimalDifference(value: number, previous: number, offset = 0): number {
  const exact = value + offset - previous;
  const ofValue = decimalPlaces(value);
  const ofPrevious = decimalPlaces(previous);
  const ofOffset = offset === 0 ? 0 : decimalPlaces(offset);
  if (ofValue < 0 || ofPrevious < 0 || ofOffset < 0) return exact;
  const scale = POWERS_OF_TEN[Math.max(ofValue, ofPrevious, ofOffset)]!;
  // The operands are k-place decimals, so their difference is too: round the exact double to it.
  return Math.round(exact * scale) / scale;
}

/** A value derived by arithmetic (a mean, a power) to 15 significant digits. */
export function roundSignificant(x: number): number {
  const magnitude = Math.abs(x);
  if (x === 0 || !(magnitude < Number.POSITIVE_INFINITY)) return x;
  // The decimal exponent by comparisons: Math.log10 is a call into the runtime, several times this loop.
  let exponent = 0;
  if (magnitude >= 1) {
    // Beyond 1e36 the scale 10^(exponent − 14) is no longer an exact double, so nothing is rounded there.
    if (magnitude >= LARGEST_ROUNDED) return x;
    while (magnitude >= EXPONENT_BOUNDS[exponent + 1]!) exponent++;
  } else {
    while (exponent > -22 && magnitude * POWERS_OF_TEN[-exponent]! < 1) exponent--;
  }
  const places = DIGITS - 1 - exponent;
  if (places >= 0) {
    if (places > 22) return x;
    const scale = POWERS_OF_TEN[places]!;
    return Math.round(x * scale) / scale;
  }
  if (-places > 22) return x;
  const scale = POWERS_OF_TEN[-places]!;
  return Math.round(x / scale) * scale;
}
