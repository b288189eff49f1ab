import { BbReaperError } from './errors.js';

/** Milliseconds per unit accepted by {@link parseDuration}. */
export const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNITS;

/** Bounds a parsed duration must fall within. */
export interface DurationBounds {
  /** Smallest accepted value in ms (inclusive). Default 1. */
  minMs?: number;
  /** Largest accepted value in ms (inclusive). Default 365 days. */
  maxMs?: number;
}

/** A duration string that is malformed or out of bounds. Exit code 2 in the CLI. */
export class DurationError extends BbReaperError {
  constructor(message: string) {
    super('INVALID_DURATION', message);
    this.name = 'DurationError';
  }
}

const PART = /(\d+)(ms|s|m|h|d)/y;
const ORDER: DurationUnit[] = ['d', 'h', 'm', 's', 'ms'];

/**
 * Parses a duration such as `90s`, `10m`, `2h`, `1h30m` or `500ms` into milliseconds. Strict:
 * every part is an integer followed by a unit (`ms`, `s`, `m`, `h`, `d`), units appear at most
 * once and from largest to smallest, and nothing else is allowed (no spaces, signs, decimals or
 * bare numbers). Throws a {@link DurationError} naming `what` and the value.
 */
export function parseDuration(input: string, what = 'duration', { minMs = 1, maxMs = 365 * DURATION_UNITS.d }: DurationBounds = {}): number {
  const fail = (why: string): never => {
    throw new DurationError(`Expected \`${what}\` to be ${why}, got \`${input}\``);
  };
  const shape = 'a duration like `90s`, `10m`, `2h` or `1h30m` (units ms, s, m, h, d)';
  if (typeof input !== 'string' || input.length === 0 || input.length > 64) fail(shape);
  let total = 0;
  let pos = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (pos < input.length) {
    PART.lastIndex = pos;
    const m = PART.exec(input);
    if (!m) fail(shape);
    const [whole, digits, unit] = m as unknown as [string, string, DurationUnit];
    const rank = ORDER.indexOf(unit);
    if (rank <= lastRank) fail(`${shape}, each unit once and largest first`);
    lastRank = rank;
    total += Number(digits) * DURATION_UNITS[unit];
    pos += whole.length;
  }
  if (!Number.isSafeInteger(total)) fail(shape);
  if (total < minMs) fail(`at least ${formatDuration(minMs)}`);
  if (total > maxMs) fail(`at most ${formatDuration(maxMs)}`);
  return total;
}

/** Formats milliseconds the way {@link parseDuration} reads them: `1h30m`, `90s` -> `1m30s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms);
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ORDER) {
    const size = DURATION_UNITS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
