/**
 * How a failure and a dead letter read for humans, the one rendering used everywhere: the
 * worker's failure reason (`REJECTED (HTTP 401): Invalid API key`), the parked letter's reason
 * and job log, Bull Board's titles and data view, `dlq list` and the `--wait` report.
 *
 * Letters come from any producer (other languages too), so every function is total: it never
 * throws and does bounded work whatever the letter holds. An unreadable value is shown as such
 * (`(not a time: 1e+300)`, `(not a string: {"a":1})`), long text is cut, and control characters
 * are made visible.
 */
import { CLOSE_JOB_LIMITS } from '../shared/jobs.js';
import { formatEpochMs, previewValue, printable } from '../shared/printable.js';
import { cutText } from '../worker/job-data.js';
import { asObject } from './letter.js';

/** Longest id (session, project, request) shown, characters; real ones are far shorter. */
export const MAX_ID_SHOWN = 300;
/** Attempt lines shown per letter or job: the newest ones, after a line saying how many are hidden. */
export const MAX_HISTORY_LINES = 100;

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Values from outside as shown to a human; absent stays absent (undefined). */
export const shown = {
  /** A string cut and made printable; anything else described. */
  text(v: unknown, max: number = CLOSE_JOB_LIMITS.MAX_MESSAGE_LENGTH): string | undefined {
    if (v === undefined) return undefined;
    return typeof v === 'string' ? printable(cutText(v, max)) : `(not a string: ${previewValue(v)})`;
  },
  /** A finite number as it is; anything else described. */
  count(v: unknown): number | string | undefined {
    if (v === undefined) return undefined;
    return finite(v) ?? `(not a number: ${previewValue(v)})`;
  },
  /** An ISO time, or `(not a time: …)`. */
  time(v: unknown): string | undefined {
    return v === undefined ? undefined : formatEpochMs(v);
  },
  /** A non-empty id or code for a title, or `fallback` when absent or empty. */
  title(v: unknown, fallback: string): string {
    if (v === undefined || v === '') return fallback;
    return shown.text(v, MAX_ID_SHOWN) ?? fallback;
  },
};

/** `REJECTED (HTTP 401)`: a failure's code and HTTP status (the code `UNKNOWN` when absent). */
export function describeCode(code: unknown, httpStatus?: unknown): string {
  const http = httpStatus !== undefined ? ` (HTTP ${shown.count(httpStatus)})` : '';
  return `${shown.title(code, 'UNKNOWN')}${http}`;
}

/**
 * `REJECTED (HTTP 401): Invalid API key`: the one way a failure is written, in a job's failure
 * reason, a dead letter's reason, logs for humans and the CLI. Without a code, the message alone.
 */
export function describeFailure({ code, httpStatus, message }: { code?: unknown; httpStatus?: unknown; message?: unknown }): string {
  const text = message === undefined || message === '' ? 'unknown failure' : (shown.text(message) as string);
  return code === undefined || code === '' ? text : `${describeCode(code, httpStatus)}: ${text}`;
}

/** The fields of one attempt record, as shown. */
function attemptParts(record: unknown) {
  const a = asObject(record);
  return {
    attempt: shown.count(a.attempt) ?? '?',
    at: shown.time(a.at) ?? '?',
    code: shown.title(a.code, '?'),
    http: a.httpStatus !== undefined ? ` HTTP ${shown.count(a.httpStatus)}` : '',
    message: a.message !== undefined && a.message !== '' ? ` — ${shown.text(a.message)}` : '',
  };
}

/** An attempt in a data view: `#2 2025-01-01T10:00:01.000Z TRANSIENT HTTP 503 — Service Unavailable`. */
export function describeAttempt(record: unknown): string {
  const p = attemptParts(record);
  return `#${p.attempt} ${p.at} ${p.code}${p.http}${p.message}`;
}

/** An attempt as a job-log line: `attempt 2 at 2025-01-01T10:00:01.000Z: TRANSIENT HTTP 503 — Service Unavailable`. */
export function describeAttemptLine(record: unknown): string {
  const p = attemptParts(record);
  return `attempt ${p.attempt} at ${p.at}: ${p.code}${p.http}${p.message}`;
}

/** At most the newest {@link MAX_HISTORY_LINES} attempts, after a line counting the hidden ones; undefined for none. */
export function describeHistory(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return [`(not a list of attempts: ${previewValue(v)})`];
  if (v.length === 0) return undefined;
  const lines = v.slice(-MAX_HISTORY_LINES).map(describeAttempt);
  return lines.length < v.length ? [`… ${v.length - lines.length} earlier attempts not shown`, ...lines] : lines;
}

/** Drops undefined fields so a view shows only what is known. */
export function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Each field of a dead letter as shown (undefined when absent): what the data view, `dlq list` and the titles are made of. */
export function deadLetterFields(letter: unknown) {
  const d = asObject(letter);
  return {
    session: shown.text(d.sessionId, MAX_ID_SHOWN),
    code: shown.text(d.errorCode, MAX_ID_SHOWN),
    httpStatus: shown.count(d.httpStatus),
    message: shown.text(d.message),
    attempts: shown.count(d.attemptsMade),
    enqueued: shown.time(d.enqueuedAt),
    deadLettered: shown.time(d.deadLetteredAt),
  };
}

/** A dead letter as an operator reads it (Bull Board's data view); absent fields are left out. */
export function deadLetterView(letter: unknown): Record<string, unknown> {
  const d = asObject(letter);
  const f = deadLetterFields(d);
  return compact({
    session: f.session,
    error: describeCode(d.errorCode, d.httpStatus),
    message: f.message,
    attempts: f.attempts,
    enqueued: f.enqueued,
    deadLettered: f.deadLettered,
    history: describeHistory(d.history),
    projectId: shown.text(d.projectId, MAX_ID_SHOWN),
    requestId: shown.text(d.requestId, MAX_ID_SHOWN),
    redriveCount: shown.count(d.redriveCount),
    closeJobId: shown.text(d.sourceJobId, MAX_ID_SHOWN),
  });
}

/** A dead letter's title in a list: `REJECTED 401 · <session id>`. */
export function deadLetterTitle(letter: unknown): string {
  const d = asObject(letter);
  const http = d.httpStatus !== undefined ? ` ${shown.count(d.httpStatus)}` : '';
  return `${shown.title(d.errorCode, 'UNKNOWN')}${http} · ${shown.title(d.sessionId, '(no session id)')}`;
}

/**
 * One line: what a parked dead letter gives as its failure reason (Bull Board shows it),
 * `REJECTED (HTTP 401): Invalid API key — session s-1, 1 attempt, enqueued <ISO>, dead-lettered <ISO>`.
 */
export function describeDeadLetter(letter: unknown): string {
  const d = asObject(letter);
  const attempts = `${shown.count(d.attemptsMade) ?? '?'} attempt${d.attemptsMade === 1 ? '' : 's'}`;
  const failure = describeFailure({ code: d.errorCode ?? 'UNKNOWN', httpStatus: d.httpStatus, message: d.message });
  return `${failure} — session ${shown.title(d.sessionId, '(no session id)')}, ${attempts}, enqueued ${formatEpochMs(d.enqueuedAt)}, dead-lettered ${formatEpochMs(d.deadLetteredAt)}`;
}
