/** Response headers as undici gives them (lower-case keys) or a WHATWG `Headers`. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/** `x-ratelimit-reset` values above this are epoch seconds; below, seconds from now. */
const EPOCH_SECONDS_THRESHOLD = 1e9;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const rec = headers as Record<string, string | string[] | undefined>;
  let v = rec[name];
  if (v === undefined) {
    const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
    v = key === undefined ? undefined : rec[key];
  }
  if (Array.isArray(v)) v = v[0];
  const t = v?.trim();
  return t ? t : undefined;
}

/** A finite, non-negative decimal number, or undefined (rejects `''`, `'1e3x'`, `'-1'`). */
function decimal(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+(\.\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * How long the server asked us to wait, in ms (rounded up), or `undefined` when it did not say.
 * Pure: `nowMs` is the current time in ms since the epoch. Sources, first usable one wins:
 * 1. `retry-after-ms`: milliseconds;
 * 2. `retry-after`: seconds, or an HTTP date (delay until then, at least 0);
 * 3. `x-ratelimit-reset`: a value above 1e9 is epoch seconds (delay until then, at least 0),
 *    otherwise seconds from now.
 * Unparseable or negative values are ignored. Callers cap the result.
 */
export function parseRetryAfter(headers: HeaderSource, nowMs: number): number | undefined {
  const ms = decimal(header(headers, 'retry-after-ms'));
  if (ms !== undefined) return Math.ceil(ms);

  const ra = header(headers, 'retry-after');
  if (ra !== undefined) {
    const seconds = decimal(ra);
    if (seconds !== undefined) return Math.ceil(seconds * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at) && /[a-z]/i.test(ra)) return Math.max(0, Math.ceil(at - nowMs));
  }

  const reset = decimal(header(headers, 'x-ratelimit-reset'));
  if (reset !== undefined) {
    if (reset > EPOCH_SECONDS_THRESHOLD) return Math.max(0, Math.ceil(reset * 1000 - nowMs));
    return Math.ceil(reset * 1000);
  }
  return undefined;
}
