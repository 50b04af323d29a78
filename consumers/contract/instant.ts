/**
 * Strict ISO 8601 instants as the contract writes them (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`).
 * Stricter than `Date.parse`, which rolls February 30 over into March and accepts 24:00: a device
 * clock that says so is broken, and its events are rejected as INVALID_TIMESTAMP instead of guessed at.
 * It is also several times faster, which matters once per event.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    value = value * 10 + d;
  }
  return value;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Epoch ms of an ISO 8601 instant, or NaN when it is malformed or names no real instant. */
export function parseInstant(text: string): number {
  if (
    text.length < 20 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84
  ) {
    return Number.NaN;
  }
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return Number.NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  // Any NaN fails these comparisons too.
  if (!(month >= 1 && month <= 12 && hour <= 23 && minute <= 59 && second <= 59 && day >= 1))
    return Number.NaN;
  const monthDays = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (!(day <= monthDays)) return Number.NaN;
  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 46) {
    // Fractions beyond milliseconds are truncated, as Date.parse does.
    let end = at + 1;
    while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
    const fraction = end - at - 1;
    if (fraction < 1 || fraction > 9) return Number.NaN;
    ms = digits(`${text.slice(at + 1, Math.min(end, at + 4))}00`, 0, 3);
    at = end;
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 90) {
    at += 1;
  } else if (zone === 43 || zone === 45) {
    if (text.charCodeAt(at + 3) !== 58) return Number.NaN;
    const offsetHours = digits(text, at + 1, 2);
    const offsetMins = digits(text, at + 4, 2);
    if (!(offsetHours <= 23 && offsetMins <= 59)) return Number.NaN;
    offsetMinutes = (zone === 45 ? -1 : 1) * (offsetHours * 60 + offsetMins);
    at += 6;
  } else {
    return Number.NaN;
  }
  if (at !== text.length) return Number.NaN;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const instant = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
  return instant - offsetMinutes * 60_000;
}
