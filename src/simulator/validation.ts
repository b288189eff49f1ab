import type { z } from 'zod';
import { BbReaperError } from '../shared/errors.js';
import { previewValue } from '../shared/printable.js';
import { valueAt } from '../shared/value-at.js';

/** One bad field of a simulator option, admin request or API request body. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `latencyMs` or `userMetadata`; empty for the whole input. */
  field: string;
  /** What was expected and what was received, e.g. "expected a number from 0 to 1, got `2`". */
  message: string;
}

/**
 * Bad input given to the simulator (options, `createSessions`, admin API). `issues` lists every
 * bad field; the message names each one with its value.
 */
export class SimulatorInputError extends BbReaperError {
  readonly issues: FieldIssue[];
  constructor(what: string, issues: FieldIssue[]) {
    super('SIMULATOR_INVALID_INPUT', `invalid ${what}: ${formatIssues(issues)}`);
    this.name = 'SimulatorInputError';
    this.issues = issues;
  }
}

/** "`a`: expected ..., got `x`; `b`: ..." */
export function formatIssues(issues: FieldIssue[]): string {
  return issues.map((i) => (i.field ? `\`${i.field}\`: ${i.message}` : i.message)).join('; ');
}

/** previewValue renders a non-string as a quoted JSON text; shown here as the JSON itself. */
function unquoted(preview: string): string {
  try {
    return String(JSON.parse(preview));
  } catch {
    return preview;
  }
}

/** Shows a received value in a message: short, JSON-ish, never huge, never throws (a 5,000-level nested body too). */
export function showValue(v: unknown): string {
  if (v === undefined) return '`undefined`';
  const s = typeof v === 'string' ? JSON.stringify(v.length > 60 ? v.slice(0, 60) : v) : unquoted(previewValue(v, 60));
  return `\`${s.length > 60 ? `${s.slice(0, 57)}...` : s}\``;
}

/** Turns zod's issues into field issues that name the field and the value received. */
export function toFieldIssues(error: z.ZodError, input: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: [...issue.path, key].join('.'), message: 'unknown field' });
      }
      continue;
    }
    const field = issue.path.map(String).join('.');
    if (field === '' && (input === null || typeof input !== 'object' || Array.isArray(input))) {
      out.push({ field, message: `expected a JSON object, got ${showValue(input)}` });
      continue;
    }
    out.push({ field, message: `${issue.message}, got ${showValue(valueAt(input, issue.path))}` });
  }
  return out;
}

/** Parses `input` with `schema`, or throws a {@link SimulatorInputError} naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new SimulatorInputError(what, toFieldIssues(result.error, input));
  return result.data;
}
