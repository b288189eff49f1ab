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
 * 2. `retry-after`: seconds, or an HTTP date (delay until then, at least 0) — refined by
 *    `x-ratelimit-reset` when both name the same moment: `retry-after` has whole-second
 *    resolution, so a reset less than a second earlier is the precise form of the same wait;
 * 3. `x-ratelimit-reset`: a value above 1e9 is epoch seconds (delay until then, at least 0),
 *    otherwise seconds from now.
 * Unparseable or negative values are ignored. Callers cap the result.
 */
export function parseRetryAfter(headers: HeaderSource, nowMs: number): number | undefined {
  const ms = decimal(header(headers, 'retry-after-ms'));
  if (ms !== undefined) return Math.ceil(ms);

  const reset = resetDelay(headers, nowMs);
  const ra = header(headers, 'retry-after');
  if (ra !== undefined) {
    let delay: number | undefined;
    const seconds = decimal(ra);
    if (seconds !== undefined) delay = Math.ceil(seconds * 1000);
    else {
      const at = Date.parse(ra);
      if (!Number.isNaN(at) && /[a-z]/i.test(ra)) delay = Math.max(0, Math.ceil(at - nowMs));
    }
    if (delay !== undefined) return reset !== undefined && reset <= delay && reset > delay - 1000 ? reset : delay;
  }
  return reset;
}

function resetDelay(headers: HeaderSource, nowMs: number): number | undefined {
  const reset = decimal(header(headers, 'x-ratelimit-reset'));
  if (reset === undefined) return undefined;
  if (reset > EPOCH_SECONDS_THRESHOLD) return Math.max(0, Math.ceil(reset * 1000 - nowMs));
  return Math.ceil(reset * 1000);
}
