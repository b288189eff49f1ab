/**
 * The layout of bb-reaper's counters in Redis. Every worker process adds its counts to one hash
 * (`<prefix>:metrics`), so the `ui` process can serve `/metrics` for all workers together.
 * Field names are `<family>|<label>`; the histogram keeps one non-cumulative count per bucket.
 */
import type { Redis } from '../shared/redis.js';
import { CLOSE_OUTCOMES, type FinalOutcome } from '../shared/jobs.js';
import { keys } from '../shared/names.js';

/** The close outcomes counted by `bb_reaper_closes_total{outcome}`: the one list of `shared/jobs.ts`. */
export { CLOSE_OUTCOMES };
export type CloseOutcomeLabel = FinalOutcome;

/**
 * Upper bounds (seconds) of the API request latency histogram: fixed, 5 ms to 10 s, so counts
 * from every worker process add up bucket by bucket.
 */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The Redis hash all worker processes add their counts to. */
export function metricsKey(prefix: string): string {
  return keys(prefix).metrics;
}

/** Hash field names, one place for the recorder and the reader. */
export const FIELD = {
  close: (outcome: CloseOutcomeLabel) => `closes|${outcome}`,
  response: (status: string) => `responses|${status}`,
  retry: (code: string) => `retries|${code}`,
  rateLimited: 'rate_limited|count',
  rateLimitedWaitMs: 'rate_limited|wait_ms',
  latencyBucket: (le: string) => `latency|${le}`,
  latencySum: 'latency|sum',
  latencyCount: 'latency|count',
  /** Browser minutes saved (a float), by account. */
  minutesSaved: (account: string) => `minutes_saved|${account}`,
} as const;

/** The account label while one deployment serves one account. */
export const DEFAULT_ACCOUNT = 'default';

/** Fields written with HINCRBYFLOAT (sums of seconds or minutes); every other field is an integer count. */
export function isFloatField(field: string): boolean {
  return field === FIELD.latencySum || field.startsWith('minutes_saved|');
}

/** The bucket label (`le`) an observation of `seconds` falls in: the smallest bound ≥ it, or `+Inf`. */
export function bucketFor(seconds: number): string {
  for (const le of LATENCY_BUCKETS_SECONDS) if (seconds <= le) return String(le);
  return '+Inf';
}

/** Status label of an API response: a 3-digit HTTP status, or `error` (no response: socket, timeout). */
export function statusLabel(status: number | 'error'): string {
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'error';
}

/** Retry code label: a stable error code (`TRANSIENT`, `TIMEOUT`, ...), anything else is `OTHER`. */
export function codeLabel(code: string): string {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}

/** Counters as read back from Redis: all processes together, since the hash was created. */
export interface CounterSnapshot {
  closes: Record<CloseOutcomeLabel, number>;
  /** API responses by status label (`200`, `429`, `error`, ...). */
  responses: Record<string, number>;
  /** Retries scheduled, by error code. */
  retries: Record<string, number>;
  /** 429 answers that paused the queue. */
  rateLimited: number;
  /** Sum of the pauses those 429s asked for, in ms. */
  rateLimitedWaitMs: number;
  /** Browser minutes saved by closes (an upper bound, see `CloseJobResult.minutesSaved`), by account. */
  minutesSaved: Record<string, number>;
  latency: {
    /** Non-cumulative count per bucket label, every bucket and `+Inf` present. */
    buckets: Record<string, number>;
    /** Sum of observed durations, in seconds. */
    sum: number;
    count: number;
  };
}

/**
 * A field of one account: `default`'s fields are named as before accounts (so counts written by
 * older workers are `default`'s), another account's carry `@<account>:` in front.
 */
export function accountField(account: string, field: string): string {
  return account === DEFAULT_ACCOUNT ? field : `@${account}:${field}`;
}

/** Splits the raw hash by account (see {@link accountField}). */
function splitByAccount(raw: Record<string, string>): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>([[DEFAULT_ACCOUNT, {}]]);
  for (const [field, value] of Object.entries(raw)) {
    const m = /^@([a-z0-9][a-z0-9_-]{0,62}):(.*)$/.exec(field);
    const account = m ? (m[1] as string) : DEFAULT_ACCOUNT;
    let group = out.get(account);
    if (!group) out.set(account, (group = {}));
    group[m ? (m[2] as string) : field] = value;
  }
  return out;
}

/** Reads the counters of every worker process (one HGETALL): all accounts together. */
export async function readCounters(redis: Redis, prefix: string): Promise<CounterSnapshot> {
  return sumCounters([...parseCountersByAccount(await redis.hgetall(metricsKey(prefix))).values()]);
}

/** Reads the counters by account (one HGETALL); `default` is always there. */
export async function readCountersByAccount(redis: Redis, prefix: string): Promise<Record<string, CounterSnapshot>> {
  return Object.fromEntries(parseCountersByAccount(await redis.hgetall(metricsKey(prefix))));
}

/** The raw hash as one snapshot per account. */
export function parseCountersByAccount(raw: Record<string, string>): Map<string, CounterSnapshot> {
  return new Map([...splitByAccount(raw)].map(([account, fields]) => [account, parseCounters(fields)]));
}

/** Several snapshots added up, label by label. */
export function sumCounters(list: readonly CounterSnapshot[]): CounterSnapshot {
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const out = parseCounters({});
  for (const c of list) {
    add(out.closes, c.closes);
    add(out.responses, c.responses);
    add(out.retries, c.retries);
    add(out.minutesSaved, c.minutesSaved);
    add(out.latency.buckets, c.latency.buckets);
    out.rateLimited += c.rateLimited;
    out.rateLimitedWaitMs += c.rateLimitedWaitMs;
    out.latency.sum += c.latency.sum;
    out.latency.count += c.latency.count;
  }
  return out;
}

/** Turns the raw hash into a snapshot; unknown fields are ignored, missing ones are 0. */
export function parseCounters(raw: Record<string, string>): CounterSnapshot {
  const num = (v: string | undefined) => {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  };
  const closes = Object.fromEntries(CLOSE_OUTCOMES.map((o) => [o, num(raw[FIELD.close(o)])])) as Record<CloseOutcomeLabel, number>;
  const buckets: Record<string, number> = {};
  for (const le of [...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']) buckets[le] = num(raw[FIELD.latencyBucket(le)]);
  const responses: Record<string, number> = {};
  const retries: Record<string, number> = {};
  const minutesSaved: Record<string, number> = {};
  for (const [field, value] of Object.entries(raw)) {
    const [family, label] = field.split('|', 2);
    if (label === undefined) continue;
    if (family === 'responses') responses[label] = num(value);
    else if (family === 'retries') retries[label] = num(value);
    else if (family === 'minutes_saved') minutesSaved[label] = num(value);
  }
  return {
    closes,
    responses,
    retries,
    rateLimited: num(raw[FIELD.rateLimited]),
    rateLimitedWaitMs: num(raw[FIELD.rateLimitedWaitMs]),
    minutesSaved,
    latency: { buckets, sum: num(raw[FIELD.latencySum]), count: num(raw[FIELD.latencyCount]) },
  };
}
