/**
 * Option parsing for every command: one way to read an integer, a duration or a choice.
 *
 * The `*Option` factories build commander `Option`s whose `argParser` throws commander's
 * `InvalidArgumentError`; commander then prints `error: option '--limit <n>' argument '0' is
 * invalid. Expected \`--limit\` to be an integer from 1 to 10000, got \`0\`` and `main.ts` maps it
 * to exit 2. The `parse*` functions are the same rules for a value read elsewhere (several flags
 * checked together, see {@link collectOptionProblems}); thrown inside an action, their
 * `InvalidArgumentError` is also reported as exit 2 (`reportError` in `command.ts`).
 * A check that involves several options (`--every` with `--dry-run`) is a {@link usageError}.
 */
import { InvalidArgumentError, Option } from 'commander';
import { DurationError, parseDuration, type DurationBounds } from '../../shared/duration.js';
import { CliError } from './command.js';
import { EXIT } from './exit-codes.js';

/** Bounds of an integer option (both inclusive). */
export interface IntBounds {
  /** Smallest accepted value. Default 0. */
  min?: number;
  /** Largest accepted value. Default: none (up to `Number.MAX_SAFE_INTEGER`). */
  max?: number;
  /** Unit named in the message, e.g. `ms` or `seconds`. */
  unit?: string;
}

/** `--limit` from `--limit <n>` or `-l, --limit <n>`: the name messages use for the flag. */
export function flagName(flags: string): string {
  const long = /--[\w-]+/.exec(flags);
  const short = /-\w/.exec(flags);
  return long?.[0] ?? short?.[0] ?? flags;
}

/**
 * Parses a whole decimal integer strictly (digits only, an optional leading `-` when `min` is
 * negative; no spaces, signs, decimals, exponents or hex) within the bounds. Throws
 * `InvalidArgumentError`: "Expected \`--limit\` to be an integer from 1 to 10000, got \`x\`".
 */
export function parseInteger(value: string, flag: string, { min = 0, max, unit }: IntBounds = {}): number {
  const n = typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max)) return n;
  const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
  throw new InvalidArgumentError(`Expected \`${flag}\` to be an integer ${range}${unit ? ` (${unit})` : ''}, got \`${String(value)}\``);
}

/** Parses a finite decimal number (`0.5`, `-3`, `1e3`; not blank, not `Infinity`); throws "Expected \`--rate\` to be a number, got \`x\`". */
export function parseNumber(value: string, flag: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (Number.isFinite(n)) return n;
  throw new InvalidArgumentError(`Expected \`${flag}\` to be a number, got \`${String(value)}\``);
}

/** Parses a duration (`90s`, `10m`, `1h30m`) with {@link parseDuration}; throws `InvalidArgumentError` naming the flag and value. */
export function parseDurationValue(value: string, flag: string, bounds?: DurationBounds): number {
  try {
    return parseDuration(value, flag, bounds);
  } catch (err) {
    if (err instanceof DurationError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** Checks a value is one of `choices`; throws "Expected \`--status\` to be one of A, B, got \`x\`". */
export function parseChoice<T extends string>(value: string, flag: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentError(`Expected \`${flag}\` to be one of ${choices.join(', ')}, got \`${value}\``);
}

/**
 * Parses a flag's value as JSON; throws "Expected \`--proxies\` to be JSON (what), got \`x\` (the parser's reason)".
 * `what` names the expected value, e.g. `a JSON object`. Shapes are the caller's to check.
 */
export function parseJsonValue(value: string, flag: string, what = 'JSON'): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    const shown = value.length > 60 ? `${value.slice(0, 59)}…` : value;
    throw new InvalidArgumentError(`Expected \`${flag}\` to be ${what}, got \`${shown}\` (${(err as Error).message})`);
  }
}

/** An integer option, e.g. `intOption('--limit <n>', 'how many', { min: 1, max: 10_000, default: 100 })`. */
export function intOption(flags: string, description: string, bounds: IntBounds & { default?: number } = {}): Option {
  const flag = flagName(flags);
  const option = new Option(flags, description).argParser((value: string) => parseInteger(value, flag, bounds));
  return bounds.default === undefined ? option : option.default(bounds.default);
}

/** A duration option in ms, e.g. `durationOption('--older-than <duration>', 'minimum age', { minMs: 1000 })`. */
export function durationOption(flags: string, description: string, bounds: DurationBounds & { default?: number } = {}): Option {
  const flag = flagName(flags);
  const option = new Option(flags, description).argParser((value: string) => parseDurationValue(value, flag, bounds));
  return bounds.default === undefined ? option : option.default(bounds.default);
}

/** A choice option: help lists the choices; a bad value is "Expected \`--x\` to be one of ..., got \`y\`". */
export function choiceOption<T extends string>(flags: string, description: string, choices: readonly T[], defaultValue?: T): Option {
  const flag = flagName(flags);
  // `.choices()` puts the list in the help; the parser after it gives the message every other option gives.
  const option = new Option(flags, description).choices(choices).argParser((value: string) => parseChoice(value, flag, choices));
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** A check across several options failed (`--every` with `--dry-run`): exit 2 with this message. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.USAGE);
}

/**
 * Runs several option checks and reports every bad option at once, as one usage error
 * (`problems.join('; ')`, after `prefix` when given). For commands whose tests and users expect all
 * bad flags in one message (the simulator, the ingress bridge).
 */
export function collectOptionProblems(): {
  /** Runs `parse`; an `InvalidArgumentError` is recorded and `undefined` returned. */
  check<T>(parse: () => T): T | undefined;
  /** Records a problem found another way. */
  add(message: string): void;
  readonly problems: readonly string[];
  /** Throws one usage error listing every problem, if there is any. */
  throwIfAny(prefix?: string): void;
} {
  const problems: string[] = [];
  return {
    check<T>(parse: () => T): T | undefined {
      try {
        return parse();
      } catch (err) {
        if (!(err instanceof InvalidArgumentError)) throw err;
        problems.push(err.message);
        return undefined;
      }
    },
    add(message: string) {
      problems.push(message);
    },
    problems,
    throwIfAny(prefix?: string) {
      if (problems.length > 0) throw usageError(`${prefix ?? ''}${problems.join('; ')}`);
    },
  };
}

export { InvalidArgumentError };
