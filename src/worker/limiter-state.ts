import type { Redis } from '../shared/redis.js';
import { DEFAULT_ACCOUNT, limiterKeyBase } from '../shared/names.js';

/** The global limiter's state, shared by every worker through Redis. */
export interface LimiterState {
  /** `BB_REAPER_RATE` of the most recently started worker (requests/s). */
  configuredRate: number;
  /** The rate workers hold now (requests/s): lowered after 429s, recovered gradually. */
  effectiveRate: number;
  /** `BB_REAPER_CONCURRENCY` (requests in flight, all workers together). */
  concurrency: number;
  /** ms epoch until which every worker holds off after a 429; 0 when not paused. */
  pausedUntil: number;
  /** ms epoch of the last 429 seen by any worker; 0 if none. */
  last429At: number;
  /** Highest sustainable rate estimated at the last 429 (requests/s); 0 if unknown. */
  ceiling: number;
  /** 429s seen by all workers since the state was created. */
  rateLimitedTotal: number;
}

/**
 * One account's limiter keys, all of the one `<prefix>:limiter` family (its scripts touch them
 * together; `shared/names.ts` decides where they live): `state` (rate, pause, 429 counts and the
 * shared start schedule), `ok` (successes per second) and `leases` (each worker process's slot share).
 */
export function limiterKeys(prefix: string, account: string = DEFAULT_ACCOUNT) {
  const base = limiterKeyBase(prefix, account);
  return { state: `${base}:state`, ok: `${base}:ok`, leases: `${base}:leases` };
}

const num = (v: string | undefined) => (v === undefined || v === '' ? 0 : Number(v));

export function parseLimiterState(h: Record<string, string>): LimiterState {
  return {
    configuredRate: num(h.configuredRate),
    effectiveRate: num(h.effectiveRate),
    concurrency: num(h.concurrency),
    pausedUntil: num(h.pausedUntil),
    last429At: num(h.last429At),
    ceiling: num(h.ceiling),
    rateLimitedTotal: num(h.rateLimitedTotal),
  };
}

/** Reads the limiter state (for the UI, `stats` and tests); undefined when no worker ever ran. */
export async function readLimiterState(redis: Redis, prefix: string, account: string = DEFAULT_ACCOUNT): Promise<LimiterState | undefined> {
  const h = await redis.hgetall(limiterKeys(prefix, account).state);
  if (Object.keys(h).length === 0) return undefined;
  return parseLimiterState(h);
}
