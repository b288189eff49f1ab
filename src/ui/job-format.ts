/**
 * How jobs read in Bull Board: titles that name the session and the error, data with readable
 * times and one line per attempt, so an operator needs no JSON expanding to see why a close
 * failed. Job data comes from any producer (other languages too), so every field is checked.
 */
import type { AttemptRecord } from '../shared/jobs.js';

type Loose = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Loose => (v !== null && typeof v === 'object' ? (v as Loose) : {});

/** ISO time of a ms epoch, or undefined. */
export function isoTime(ms: unknown): string | undefined {
  const n = num(ms);
  return n === undefined ? undefined : new Date(n).toISOString();
}

/** `#2 2025-01-01T10:00:01.000Z TRANSIENT HTTP 503 — Service Unavailable` */
export function describeAttempt(a: Partial<AttemptRecord>): string {
  const http = num(a.httpStatus) !== undefined ? ` HTTP ${a.httpStatus}` : '';
  const message = str(a.message) ? ` — ${a.message}` : '';
  return `#${num(a.attempt) ?? '?'} ${isoTime(a.at) ?? '?'} ${str(a.code) ?? '?'}${http}${message}`;
}

function historyLines(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.length > 0 ? v.map((a) => describeAttempt(obj(a) as Partial<AttemptRecord>)) : undefined;
}

/** Drops undefined fields so the data view shows only what is known. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Title of a dead letter in the job list: `REJECTED 401 · <session id>`. */
export function formatDeadLetterName(job: unknown): string {
  const d = obj(obj(job).data);
  const http = num(d.httpStatus) !== undefined ? ` ${d.httpStatus}` : '';
  return `${str(d.errorCode) ?? 'UNKNOWN'}${http} · ${str(d.sessionId) ?? '(no session id)'}`;
}

/** A dead letter's data as the operator reads it. */
export function formatDeadLetterData(data: unknown): Record<string, unknown> {
  const d = obj(data);
  const http = num(d.httpStatus) !== undefined ? ` (HTTP ${d.httpStatus})` : '';
  return compact({
    session: d.sessionId,
    error: `${str(d.errorCode) ?? 'UNKNOWN'}${http}`,
    message: d.message,
    attempts: d.attemptsMade,
    enqueued: isoTime(d.enqueuedAt),
    deadLettered: isoTime(d.deadLetteredAt),
    history: historyLines(d.history),
    projectId: d.projectId,
    requestId: d.requestId,
    redriveCount: d.redriveCount,
    closeJobId: d.sourceJobId,
    fix: 'Fix the cause, then Retry: the close goes back on the close queue with fresh attempts.',
  });
}

/** Title of a close job: `close · <session id>` (with the re-drive count when re-driven). */
export function formatCloseName(job: unknown): string {
  const d = obj(obj(job).data);
  const redrive = num(d.redriveCount) ? ` (re-drive ${d.redriveCount})` : '';
  return `close · ${str(d.sessionId) ?? '(no session id)'}${redrive}`;
}

/** A close job's data as the operator reads it. */
export function formatCloseData(data: unknown): Record<string, unknown> {
  const d = obj(data);
  return compact({
    session: d.sessionId,
    enqueued: isoTime(d.enqueuedAt),
    source: d.source,
    projectId: d.projectId,
    requestId: d.requestId,
    redriveCount: d.redriveCount,
    history: historyLines(d.history),
  });
}

/** A completed close's result: outcome, status and when. */
export function formatCloseResult(value: unknown): unknown {
  const r = obj(value);
  if (str(r.outcome) === undefined) return value;
  return compact({ outcome: r.outcome, status: r.status, httpStatus: r.httpStatus, attempts: r.attempts, finished: isoTime(r.finishedAt) });
}
