import { BrowserbaseError } from './errors.js';

/** Longest session id accepted, in characters (real ids are 36-character UUIDs). */
export const SESSION_ID_MAX_LENGTH = 256;

/**
 * Characters an id may be made of: anything but URL delimiters (`/ \ ? # %`), whitespace and
 * separators (`\p{Z}`: spaces, U+2028/U+2029) and "other" code points (`\p{C}`: controls, format
 * characters such as zero-width and bidi controls, lone surrogates, private use, unassigned).
 */
const ALLOWED = /^[^/\\?#%\p{C}\p{Z}]+$/u;
const FORBIDDEN = /[/\\?#%\p{C}\p{Z}]/u;

/**
 * Checks that `id` is a plausible Browserbase session id: an opaque token that can be placed in a
 * URL path without changing which resource it names. Pure and allocation-free on the valid path,
 * so producers can run it over large batches.
 *
 * @returns the reason the id is invalid, or `undefined` when it is valid.
 */
export function validateSessionId(id: unknown): string | undefined {
  if (typeof id !== 'string') return `expected a string, got ${id === null ? 'null' : Array.isArray(id) ? 'an array' : typeof id}`;
  if (id.length === 0) return 'is empty';
  if (id.length > SESSION_ID_MAX_LENGTH) return `is ${id.length} characters long; the maximum is ${SESSION_ID_MAX_LENGTH}`;
  if (ALLOWED.test(id) && id !== '.' && !id.includes('..')) return undefined;
  return describeInvalid(id);
}

function describeInvalid(id: string): string {
  const m = FORBIDDEN.exec(id);
  if (m) {
    const ch = m[0];
    const cp = ch.codePointAt(0) ?? 0;
    const printable = cp > 0x20 && cp < 0x7f;
    const shown = printable ? `\`${ch}\`` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    const kind = printable ? 'the character' : 'a whitespace, control or invisible character';
    return `contains ${kind} ${shown} at index ${m.index}; ids are opaque tokens and never contain it`;
  }
  if (id === '.') return 'is `.`, a path segment rather than an id';
  return 'contains `..`, which could change the URL path';
}

/** A short, printable rendering of a bad id for error messages (never the whole 10 kB). */
export function previewSessionId(id: unknown): string {
  if (typeof id !== 'string') return String(typeof id === 'object' && id !== null ? Object.prototype.toString.call(id) : id);
  const json = JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}` : id);
  const escaped = json.replace(/[\p{C}\p{Z}]/gu, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
  return id.length > 64 ? `${escaped}… (${id.length} characters)` : escaped;
}

/**
 * Throws `BrowserbaseError` with code `INVALID_SESSION_ID` unless `id` is valid (see
 * {@link validateSessionId}); narrows `id` to `string`.
 */
export function assertSessionId(id: unknown): asserts id is string {
  const reason = validateSessionId(id);
  if (reason !== undefined) {
    throw new BrowserbaseError('INVALID_SESSION_ID', `Invalid session id ${previewSessionId(id)}: ${reason}`);
  }
}

/** The id as a URL path segment (after validation, so only unicode gets encoded). */
export function encodeSessionId(id: string): string {
  return encodeURIComponent(id);
}
