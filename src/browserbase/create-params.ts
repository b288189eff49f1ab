import { z } from 'zod';
import { previewValue } from '../shared/printable.js';
import type { BrowserSettings, ProxyConfig } from './types.js';
import { valueAt } from '../shared/value-at.js';

// Create's `browserSettings` and `proxies`, checked as Browserbase's OpenAPI document declares
// them (unknown fields pass, as there). Messages are "what was expected" so a caller can say
// "Expected `<field>` to be <message>, got `<value>`".

const str = z.string({ error: 'a string' });
const bool = z.boolean({ error: 'a boolean' });
const int = z.number({ error: 'an integer' }).int({ error: 'an integer' });
const code2 = z.string({ error: 'a 2-letter code' }).length(2, { error: 'a 2-letter code' });

const proxyConfig = z.discriminatedUnion(
  'type',
  [
    z.looseObject({
      type: z.literal('browserbase'),
      geolocation: z.looseObject({ city: str.optional(), state: code2.optional(), country: code2 }, { error: 'an object with a 2-letter `country`' }).optional(),
      domainPattern: str.optional(),
    }),
    z.looseObject({ type: z.literal('external'), server: str, domainPattern: str.optional(), username: str.optional(), password: str.optional() }),
    z.looseObject({ type: z.literal('none'), domainPattern: str.optional() }),
  ],
  { error: 'a proxy config whose `type` is "browserbase", "external" (with a `server`) or "none"' },
);

/** `proxies`: `true` (Browserbase's default proxy), `false`, or a list of proxy configs. */
export const proxiesSchema: z.ZodType<boolean | ProxyConfig[]> = z.union([bool, z.array(proxyConfig, { error: 'true or an array of proxy configs' })], {
  error: 'true or an array of proxy configs',
}) as unknown as z.ZodType<boolean | ProxyConfig[]>;

/** `browserSettings`. */
export const browserSettingsSchema: z.ZodType<BrowserSettings> = z.looseObject(
  {
    context: z.looseObject({ id: str.min(1, { error: 'a non-empty string' }), persist: bool.optional() }, { error: 'an object with a string `id`' }).optional(),
    extensionId: str.optional(),
    viewport: z.looseObject({ width: int.optional(), height: int.optional() }, { error: 'an object {width, height} of integers' }).optional(),
    blockAds: bool.optional(),
    solveCaptchas: bool.optional(),
    recordSession: bool.optional(),
    logSession: bool.optional(),
    advancedStealth: bool.optional(),
    verified: bool.optional(),
    captchaImageSelector: str.optional(),
    captchaInputSelector: str.optional(),
    os: z.enum(['windows', 'mac', 'linux', 'mobile', 'tablet'], { error: 'one of windows, mac, linux, mobile, tablet' }).optional(),
    allowedDomains: z.array(str, { error: 'an array of strings' }).optional(),
    ignoreCertificateErrors: bool.optional(),
  },
  { error: 'a JSON object' },
) as unknown as z.ZodType<BrowserSettings>;

/** One problem of a checked value: where (`viewport.width`, `[1].server`, or `''` for the value itself), what was expected, what it was. */
export interface ParamIssue {
  path: string;
  expected: string;
  /** A short preview of the value found there (`nothing` when absent). */
  got: string;
}

/** Checks `value` against `schema`; the first problem per path, or the parsed value. */
export function checkParam<T>(schema: z.ZodType<T>, value: unknown): { ok: true; value: T } | { ok: false; issues: ParamIssue[] } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const seen = new Set<string>();
  const issues: ParamIssue[] = [];
  for (const i of r.error.issues.flatMap(innermost)) {
    const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    if (seen.has(path)) continue;
    seen.add(path);
    const found = valueAt(value, i.path);
    issues.push({ path, expected: i.message, got: found === undefined ? 'nothing' : preview(found) });
  }
  return { ok: false, issues };
}

/**
 * A union's issue replaced by the issues of the branch that got furthest (`[0].server` of a list
 * of proxies, rather than "not true or a list"); kept when every branch failed at the value itself.
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((b) => b.path.length + (b.code === 'invalid_union' ? 1 : 0)));
  const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  if (depth(best) === 0) return [issue];
  return best.flatMap((b) => innermost({ ...b, path: [...issue.path, ...b.path] } as z.core.$ZodIssue));
}

/** A string JSON-quoted (so `"1"` differs from `1`), anything else as its compact JSON; bounded, never throws. */
function preview(value: unknown): string {
  const quoted = previewValue(value, 60);
  if (typeof value === 'string') return quoted;
  try {
    return String(JSON.parse(quoted));
  } catch {
    return quoted;
  }
}

