import { BbReaperError } from '../shared/errors.js';
import { DurationError, formatDuration, parseDuration } from '../shared/duration.js';

/** A lease's TTL and renewal limits, the one definition (library, CLI, ingress). */
export const LEASE_LIMITS = {
  /** Shortest TTL, ms: below this a renewal could hardly arrive in time. */
  minTtlMs: 10_000,
  /** Longest TTL, ms: the longest a Browserbase session runs (`timeout` 21 600 s). */
  maxTtlMs: 6 * 3_600_000,
  /** Shortest renewal interval of `keepAlive`, ms. */
  minEveryMs: 1_000,
} as const;

/** A duration as ms, or a string such as `90s`, `10m`, `1h30m`. */
export type Ttl = number | string;

/** Lease options that are wrong: a TTL out of bounds, a renewal interval not shorter than the TTL. */
export class LeaseError extends BbReaperError {
  constructor(code: 'INVALID_LEASE' | 'LEASE_ENDED' | 'LEASE_NOT_FOUND', message: string) {
    super(code, message);
    this.name = 'LeaseError';
  }
}

const bounds = `from ${formatDuration(LEASE_LIMITS.minTtlMs)} to ${formatDuration(LEASE_LIMITS.maxTtlMs)} (the longest a Browserbase session runs)`;

/**
 * A TTL in ms from ms or a duration string, within {@link LEASE_LIMITS}. Throws `INVALID_LEASE`
 * naming `what` and the value: "Expected `ttl` to be a duration from 10s to 6h (...), got `5s`".
 */
export function parseLeaseTtl(value: unknown, what = 'ttl'): number {
  const fail = (): never => {
    throw new LeaseError('INVALID_LEASE', `Expected \`${what}\` to be a duration ${bounds}, such as \`90s\` or \`10m\`, got \`${typeof value === 'string' ? value : String(value)}\``);
  };
  let ms: number;
  if (typeof value === 'number') ms = Number.isSafeInteger(value) ? value : fail();
  else if (typeof value === 'string') {
    try {
      ms = parseDuration(value, what);
    } catch (err) {
      if (err instanceof DurationError) fail();
      throw err;
    }
  } else ms = fail();
  if (ms < LEASE_LIMITS.minTtlMs || ms > LEASE_LIMITS.maxTtlMs) fail();
  return ms;
}

/** A `keepAlive` interval in ms: at least 1 s and shorter than the TTL it renews. Throws `INVALID_LEASE`. */
export function parseRenewEvery(value: unknown, ttlMs: number, what = 'every'): number {
  const shown = typeof value === 'string' ? value : String(value);
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) ms = value;
  else if (typeof value === 'string') {
    try {
      ms = parseDuration(value, what);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
    }
  }
  if (ms === undefined || ms < LEASE_LIMITS.minEveryMs || ms >= ttlMs) {
    throw new LeaseError('INVALID_LEASE', `Expected \`${what}\` to be a duration from ${formatDuration(LEASE_LIMITS.minEveryMs)} to less than the TTL (${formatDuration(ttlMs)}), got \`${shown}\``);
  }
  return ms;
}

/**
 * The TTL of a lease that must close at `atMs` (ms epoch), measured from `now`: the same bounds
 * as {@link parseLeaseTtl}. Throws `INVALID_LEASE` naming `what`.
 */
export function ttlUntil(atMs: unknown, now: number, what = 'closeAt'): number {
  if (typeof atMs !== 'number' || !Number.isSafeInteger(atMs)) {
    throw new LeaseError('INVALID_LEASE', `Expected \`${what}\` to be a time in ms since the epoch, got \`${String(atMs)}\``);
  }
  const ttl = atMs - now;
  if (ttl < LEASE_LIMITS.minTtlMs || ttl > LEASE_LIMITS.maxTtlMs) {
    const when = ttl < 0 ? `${formatDuration(-ttl)} ago` : `in ${formatDuration(ttl)}`;
    throw new LeaseError('INVALID_LEASE', `Expected \`${what}\` to be ${formatDuration(LEASE_LIMITS.minTtlMs)} to ${formatDuration(LEASE_LIMITS.maxTtlMs)} from now, got \`${atMs}\` (${when})`);
  }
  return ttl;
}
