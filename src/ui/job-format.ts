/**
 * How jobs read in Bull Board: titles that name the session and the error, data with readable
 * times and one line per attempt, so an operator needs no JSON expanding to see why a close
 * failed. Job data comes from any producer (other languages too), so every formatter is total:
 * it never throws and does bounded work whatever the job holds. An unreadable value is shown as
 * such (`(not a time: 1e+300)`, `(not a string: {"a":1})`), long text is cut, and control
 * characters are made visible.
 */
import { CLOSE_JOB_LIMITS } from '../shared/jobs.js';
import { formatEpochMs, previewValue, printable } from '../shared/printable.js';
import { cutText } from '../worker/job-data.js';

type Loose = Record<string, unknown>;

/** Longest id (session, project, request) shown, characters; real ones are far shorter. */
const MAX_ID_SHOWN = 300;
/** Attempt lines shown per job: the newest ones, after a line saying how many are hidden. */
const MAX_HISTORY_LINES = 100;

const obj = (v: unknown): Loose => (v !== null && typeof v === 'object' ? (v as Loose) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A text field as shown: a string cut and made printable; absent stays absent; anything else is described. */
function text(v: unknown, max: number = CLOSE_JOB_LIMITS.MAX_MESSAGE_LENGTH): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? printable(cutText(v, max)) : `(not a string: ${previewValue(v)})`;
}

/** A count as shown: a finite number as it is; absent stays absent; anything else is described. */
function count(v: unknown): number | string | undefined {
  if (v === undefined) return undefined;
  return num(v) ?? `(not a number: ${previewValue(v)})`;
}

/** A time as shown: ISO, `(not a time: …)` when it is not one; absent stays absent. */
function time(v: unknown): string | undefined {
  return v === undefined ? undefined : formatEpochMs(v);
}

/** A non-empty id for a title, or `fallback` when absent. */
function title(v: unknown, fallback: string): string {
  if (v === undefined || v === '') return fallback;
  return text(v, MAX_ID_SHOWN) ?? fallback;
}

/** `#2 2025-01-01T10:00:01.000Z TRANSIENT HTTP 503 — Service Unavailable` */
export function describeAttempt(record: unknown): string {
  const a = obj(record);
  const http = a.httpStatus !== undefined ? ` HTTP ${count(a.httpStatus)}` : '';
  const message = a.message !== undefined && a.message !== '' ? ` — ${text(a.message)}` : '';
  return `#${count(a.attempt) ?? '?'} ${time(a.at) ?? '?'} ${title(a.code, '?')}${http}${message}`;
}

function historyLines(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return [`(not a list of attempts: ${previewValue(v)})`];
  if (v.length === 0) return undefined;
  const shown = v.slice(-MAX_HISTORY_LINES).map(describeAttempt);
  return shown.length < v.length ? [`… ${v.length - shown.length} earlier attempts not shown`, ...shown] : shown;
}

/** Drops undefined fields so the data view shows only what is known. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * Runs a formatter; should it throw all the same (a value no check foresaw), the operator sees
 * a preview of the value instead of a list that answers 500 and hides every other job.
 */
function total<T>(format: (v: unknown) => T, fallback: (v: unknown) => T): (v: unknown) => T {
  return (v) => {
    try {
      return format(v);
    } catch {
      return fallback(v);
    }
  };
}

/** Title of a dead letter in the job list: `REJECTED 401 · <session id>`. */
export const formatDeadLetterName = total(
  (job) => {
    const d = obj(obj(job).data);
    const http = d.httpStatus !== undefined ? ` ${count(d.httpStatus)}` : '';
    return `${title(d.errorCode, 'UNKNOWN')}${http} · ${title(d.sessionId, '(no session id)')}`;
  },
  () => '(unreadable dead letter)',
);

/** A dead letter's data as the operator reads it. */
export const formatDeadLetterData = total(
  (data): Record<string, unknown> => {
    const d = obj(data);
    const http = d.httpStatus !== undefined ? ` (HTTP ${count(d.httpStatus)})` : '';
    return compact({
      session: text(d.sessionId, MAX_ID_SHOWN),
      error: `${title(d.errorCode, 'UNKNOWN')}${http}`,
      message: text(d.message),
      attempts: count(d.attemptsMade),
      enqueued: time(d.enqueuedAt),
      deadLettered: time(d.deadLetteredAt),
      history: historyLines(d.history),
      projectId: text(d.projectId, MAX_ID_SHOWN),
      requestId: text(d.requestId, MAX_ID_SHOWN),
      redriveCount: count(d.redriveCount),
      closeJobId: text(d.sourceJobId, MAX_ID_SHOWN),
      fix: 'Fix the cause, then Retry: the close goes back on the close queue with fresh attempts.',
    });
  },
  (data) => ({ unreadable: previewValue(data, 500) }),
);

/** Title of a close job: `close · <session id>` (with the re-drive count when re-driven). */
export const formatCloseName = total(
  (job) => {
    const d = obj(obj(job).data);
    const redrive = d.redriveCount !== undefined && d.redriveCount !== 0 ? ` (re-drive ${count(d.redriveCount)})` : '';
    return `close · ${title(d.sessionId, '(no session id)')}${redrive}`;
  },
  () => 'close · (unreadable job)',
);

/** A close job's data as the operator reads it. */
export const formatCloseData = total(
  (data): Record<string, unknown> => {
    const d = obj(data);
    return compact({
      session: text(d.sessionId, MAX_ID_SHOWN),
      enqueued: time(d.enqueuedAt),
      source: text(d.source, MAX_ID_SHOWN),
      projectId: text(d.projectId, MAX_ID_SHOWN),
      requestId: text(d.requestId, MAX_ID_SHOWN),
      redriveCount: count(d.redriveCount),
      history: historyLines(d.history),
    });
  },
  (data) => ({ unreadable: previewValue(data, 500) }),
);

/** A completed close's result: outcome, status and when (a value of another shape is previewed; none stays none). */
export const formatCloseResult = total(
  (value): unknown => {
    if (value === null || value === undefined) return value;
    const r = obj(value);
    if (typeof r.outcome !== 'string' || r.outcome === '') return `(not a close result: ${previewValue(value, 500)})`;
    return compact({
      outcome: text(r.outcome, MAX_ID_SHOWN),
      status: text(r.status, MAX_ID_SHOWN),
      httpStatus: count(r.httpStatus),
      attempts: count(r.attempts),
      finished: time(r.finishedAt),
    });
  },
  (value) => previewValue(value, 500),
);
