/**
 * Rendering of values that come from outside (session ids, page titles, server messages, job
 * data written by any producer) for messages, terminals and the UI. Every function here is
 * total: it never throws and does bounded work whatever the value (a 5,000-level nested array,
 * a cycle, a getter that throws, a 40 MiB string).
 */

/** Deepest nesting a preview descends into; deeper parts are shown as `[…]` / `{…}`. */
const MAX_PREVIEW_DEPTH = 8;

/**
 * Control and invisible characters: C0 and C1 controls, DEL, and Unicode format characters
 * (bidi overrides such as U+202E, zero-width joiners, the BOM) that can hide or reorder text.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** `\\u202e`, or `\\u{e0041}` beyond U+FFFF (never an ambiguous `\\ue0041`). */
const unicodeEscape = (cp: number): string => (cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`);

const escapeChar = (c: string): string => {
  const cp = c.codePointAt(0) ?? 0;
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : unicodeEscape(cp);
};

/**
 * Text with every control and invisible character made visible (`ESC` -> `\x1b`, BEL -> `\x07`,
 * newline -> `\n`, U+202E -> `\u202e`), so a string from outside can be printed on a terminal
 * without moving the cursor, recolouring, setting the title or writing the clipboard (OSC 52).
 * Backslashes are left as they are. Non-strings are rendered with {@link previewValue}.
 */
export function printable(text: unknown): string {
  if (typeof text !== 'string') return previewValue(text, 200);
  return text.replace(UNSAFE, escapeChar);
}

/** A bounded JSON-like rendering of any value: at most `budget` characters of output are built. */
function render(value: unknown, depth: number, budget: { left: number }, seen: Set<object>): string {
  if (budget.left <= 0) return '…';
  switch (typeof value) {
    case 'string': {
      const s = value.length > budget.left ? value.slice(0, budget.left) : value;
      budget.left -= s.length + 2;
      return JSON.stringify(s);
    }
    case 'number':
    case 'boolean':
    case 'bigint': {
      const s = typeof value === 'bigint' ? `${value}n` : String(value);
      budget.left -= s.length;
      return s;
    }
    case 'undefined':
      budget.left -= 9;
      return 'undefined';
    case 'symbol':
    case 'function':
      budget.left -= 8;
      return typeof value === 'symbol' ? 'a symbol' : 'a function';
    default:
      break;
  }
  if (value === null) {
    budget.left -= 4;
    return 'null';
  }
  const o = value as object;
  const isArray = Array.isArray(o);
  if (depth >= MAX_PREVIEW_DEPTH || seen.has(o)) {
    budget.left -= 3;
    return isArray ? '[…]' : '{…}';
  }
  seen.add(o);
  const parts: string[] = [];
  budget.left -= 2;
  try {
    if (isArray) {
      const a = o as unknown[];
      for (let i = 0; i < a.length; i++) {
        if (budget.left <= 0) {
          parts.push('…');
          break;
        }
        parts.push(render(a[i], depth + 1, budget, seen));
        budget.left -= 1;
      }
      return `[${parts.join(',')}]`;
    }
    for (const key of Object.keys(o)) {
      if (budget.left <= 0) {
        parts.push('…');
        break;
      }
      const k = render(key, depth + 1, budget, seen);
      let v: string;
      try {
        v = render((o as Record<string, unknown>)[key], depth + 1, budget, seen);
      } catch {
        v = '(unreadable)';
      }
      parts.push(`${k}:${v}`);
      budget.left -= 2;
    }
    return `{${parts.join(',')}}`;
  } catch {
    return isArray ? '[(unreadable)]' : '{(unreadable)}';
  } finally {
    seen.delete(o);
  }
}

/**
 * A short printable rendering of any value for a reason or an error message (never the whole
 * megabyte): a string is shown JSON-quoted, cut at `max` characters with its length; another
 * value as compact JSON, nested parts beyond depth 8 shown as `[…]`. Control characters are
 * escaped, so the result is safe on a terminal and in a log line. Never throws.
 */
export function previewValue(value: unknown, max = 64): string {
  const whole = typeof value === 'string' ? value : render(value, 0, { left: max + 1 }, new Set());
  const cut = whole.length > max ? `${whole.slice(0, max)}…` : whole;
  const json = JSON.stringify(cut).replace(/[\p{C}\p{Z}]/gu, (c) => (c === ' ' ? c : unicodeEscape(c.codePointAt(0) ?? 0)));
  // A string's length is known; a rendered value's is not (rendering stopped at the budget).
  return whole.length > max && typeof value === 'string' ? `${json} (${whole.length} characters)` : json;
}

/**
 * The ISO form of a ms epoch, or a readable note when it is not one (`1e300` has no date:
 * `new Date(1e300).toISOString()` throws). Never throws.
 */
export function formatEpochMs(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return `(not a time: ${previewValue(ms, 32)})`;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `(not a time: ${ms})` : d.toISOString();
}

/** {@link formatEpochMs} for a value that may be absent: undefined stays undefined. */
export function formatOptionalEpochMs(ms: unknown): string | undefined {
  return ms === undefined || ms === null ? undefined : formatEpochMs(ms);
}
