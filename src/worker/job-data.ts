import { UnrecoverableError } from 'bullmq';
import { validateSessionId } from '../browserbase/index.js';
import { checkOptionalField } from '../producer/close-request.js';
import type { ErrorCode } from '../shared/error-codes.js';
import { CLOSE_JOB_LIMITS, type AttemptRecord, type CloseJobData } from '../shared/jobs.js';
import { previewValue } from '../shared/printable.js';

const { MAX_HISTORY, MAX_MESSAGE_LENGTH, MAX_STORED_MESSAGE_LENGTH, MAX_CODE_LENGTH, MAX_COUNT, MAX_CLOCK_AHEAD_MS } = CLOSE_JOB_LIMITS;

/**
 * Close jobs may come from other languages' BullMQ clients, so their data is checked before use.
 * Bad data is dead-lettered (never sent to the API) with a reason naming the field.
 */
export class InvalidJobError extends UnrecoverableError {
  /** Always `INVALID_JOB` (see `ERROR_CODES`); the message is the reason alone, naming the field. */
  readonly code = 'INVALID_JOB' satisfies ErrorCode;
  constructor(message: string) {
    // The message becomes the job's failedReason. The dead letter does not read the code from it:
    // it runs this same check on the job's data again (see `failureOf` in dead-letters/letter.ts).
    super(message);
    this.name = 'InvalidJobError';
  }
}

/**
 * `text` cut to at most `max` characters, the cut marked with the original length
 * (`…(cut: 52000 characters)`), so a history or a letter never grows with what an API answered.
 */
export function cutText(text: string, max: number = MAX_MESSAGE_LENGTH): string {
  if (text.length <= max) return text;
  const note = `… (cut: ${text.length} characters)`;
  let head = text.slice(0, Math.max(0, max - note.length));
  // Never leave half of a surrogate pair at the cut.
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return `${head}${note}`.slice(0, max);
}

/** True when `v` is an integer from `min` to `max`. */
export const isIntegerIn = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
/** `got 1e+300`, `got "503"` (a string), `got an object "{\"a\":1}"`: a number and a string of it stay apart. */
function got(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return `got ${String(v)}`;
  if (typeof v === 'string') return `got ${previewValue(v)}`;
  return `got ${Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`} ${previewValue(v)}`;
}

function epochProblem(name: string, v: unknown, now: number): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= now + MAX_CLOCK_AHEAD_MS) return undefined;
  return `\`${name}\` must be a time in ms since the epoch, at most one day ahead of now, ${got(v)}`;
}

function recordProblem(r: unknown, i: number, now: number): string | undefined {
  const name = `history[${i}]`;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return `\`${name}\` must be an attempt record object, ${got(r)}`;
  const a = r as Record<string, unknown>;
  if (!isIntegerIn(a.attempt, 1, MAX_COUNT)) return `\`${name}.attempt\` must be an integer from 1 to ${MAX_COUNT}, ${got(a.attempt)}`;
  const at = epochProblem(`${name}.at`, a.at, now);
  if (at !== undefined) return at;
  if (typeof a.code !== 'string' || a.code.length === 0 || a.code.length > MAX_CODE_LENGTH || /\p{Cc}/u.test(a.code)) {
    return `\`${name}.code\` must be a non-empty string of at most ${MAX_CODE_LENGTH} characters without control characters, ${got(a.code)}`;
  }
  if (a.httpStatus !== undefined && !isIntegerIn(a.httpStatus, 100, 999)) return `\`${name}.httpStatus\` must be an integer from 100 to 999, ${got(a.httpStatus)}`;
  // A longer message (written by a worker older than the cut) is cut on read, not refused.
  if (a.message !== undefined && (typeof a.message !== 'string' || a.message.length > MAX_STORED_MESSAGE_LENGTH)) {
    return `\`${name}.message\` must be a string of at most ${MAX_STORED_MESSAGE_LENGTH} characters, ${got(a.message)}`;
  }
  return undefined;
}

/** What is wrong with a job's data, or undefined (every field the worker reads is checked). */
function dataProblem(d: Record<string, unknown>, now: number): string | undefined {
  const id = validateSessionId(d.sessionId);
  if (id !== undefined) return typeof d.sessionId === 'string' ? `invalid \`sessionId\` ${previewValue(d.sessionId)}: ${id}` : `invalid \`sessionId\`: ${id}`;
  for (const f of ['projectId', 'requestId', 'source'] as const) {
    if (d[f] !== undefined && typeof d[f] !== 'string') return `\`${f}\` must be a string, ${got(d[f])}`;
    const problem = checkOptionalField(f, d[f]);
    if (problem !== undefined) return `${problem}, ${got(d[f])}`;
  }
  if (d.enqueuedAt !== undefined) {
    const problem = epochProblem('enqueuedAt', d.enqueuedAt, now);
    if (problem !== undefined) return problem;
  }
  const history = d.history;
  if (history !== undefined) {
    if (!Array.isArray(history)) return `\`history\` must be an array of attempt records, ${got(history)}`;
    if (history.length > MAX_HISTORY) return `\`history\` must hold at most ${MAX_HISTORY} attempt records, got ${history.length}`;
    for (let i = 0; i < history.length; i++) {
      const problem = recordProblem(history[i], i, now);
      if (problem !== undefined) return problem;
    }
  }
  const length = Array.isArray(history) ? history.length : 0;
  if (d.attemptsOffset !== undefined && !isIntegerIn(d.attemptsOffset, 0, length)) {
    return `\`attemptsOffset\` must be an integer from 0 to the length of \`history\` (${length}), ${got(d.attemptsOffset)}`;
  }
  if (d.redriveCount !== undefined && !isIntegerIn(d.redriveCount, 0, MAX_COUNT)) return `\`redriveCount\` must be an integer from 0 to ${MAX_COUNT}, ${got(d.redriveCount)}`;
  if (d.lease !== undefined && d.lease !== true) return `\`lease\` must be true when present (leases set it), ${got(d.lease)}`;
  return undefined;
}

/**
 * Checks a close job's data (types, ranges, sizes; see {@link CLOSE_JOB_LIMITS}) and returns it
 * typed, with `enqueuedAt` defaulting to now. Throws {@link InvalidJobError} naming the first bad
 * field and its value: the job is dead-lettered at once, never retried, never sent.
 */
export function parseCloseJobData(raw: unknown, now = Date.now()): CloseJobData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidJobError(`job data must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const d = raw as Record<string, unknown>;
  const problem = dataProblem(d, now);
  if (problem !== undefined) throw new InvalidJobError(problem);
  const data = { ...(d as unknown as CloseJobData), enqueuedAt: d.enqueuedAt === undefined ? now : (d.enqueuedAt as number) };
  if (data.history?.some((r) => r.message !== undefined && r.message.length > MAX_MESSAGE_LENGTH)) {
    data.history = data.history.map((r) => (r.message === undefined ? r : { ...r, message: cutText(r.message) }));
  }
  return data;
}

/** Attempts made since the job was (re-)enqueued. */
export function attemptsThisLife(data: CloseJobData): number {
  return (data.history?.length ?? 0) - (data.attemptsOffset ?? 0);
}

/**
 * The data with one more attempt recorded. The history keeps its newest
 * {@link CLOSE_JOB_LIMITS.MAX_HISTORY} records, whatever the number of re-drives; `attemptsOffset`
 * moves with the dropped ones, so the attempts of this life are still counted right.
 */
export function withAttempt(data: CloseJobData, record: AttemptRecord): CloseJobData {
  const all = [...(data.history ?? []), record];
  const dropped = Math.max(0, all.length - MAX_HISTORY);
  if (dropped === 0) return { ...data, history: all };
  return { ...data, history: all.slice(dropped), attemptsOffset: Math.max(0, (data.attemptsOffset ?? 0) - dropped) };
}
