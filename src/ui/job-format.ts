/**
 * How jobs read in Bull Board: titles that name the session and the error, data with readable
 * times and one line per attempt, so an operator needs no JSON expanding to see why a close
 * failed. A dead letter reads as everywhere else (`dead-letters/describe.ts`, the one rendering);
 * here are Bull Board's formatter shapes and the close job's view, built on the same pieces.
 * Every formatter is total: it never throws and does bounded work whatever the job holds.
 */
import { compact, deadLetterTitle, deadLetterView, describeAttempt, describeHistory, MAX_ID_SHOWN, shown } from '../dead-letters/describe.js';
import { asObject } from '../dead-letters/letter.js';
import { previewValue } from '../shared/printable.js';

export { describeAttempt };

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
  (job) => deadLetterTitle(asObject(job).data),
  () => '(unreadable dead letter)',
);

/** A dead letter's data as the operator reads it, with what to do about it. */
export const formatDeadLetterData = total(
  (data): Record<string, unknown> => ({ ...deadLetterView(data), fix: 'Fix the cause, then Retry: the close goes back on the close queue with fresh attempts.' }),
  (data) => ({ unreadable: previewValue(data, 500) }),
);

/**
 * Title of a close job: `close · <session id>` (with the re-drive count when re-driven). A lease
 * waiting for its deadline reads `lease · <session id> · closes at <ISO time> unless renewed`
 * (BullMQ keeps its deadline as `timestamp + delay`); once it fired or was released, `close ·
 * <session id> (lease)`.
 */
export const formatCloseName = total(
  (job) => {
    const j = asObject(job);
    const d = asObject(j.data);
    const session = shown.title(d.sessionId, '(no session id)');
    if (d.lease === true) {
      const delay = typeof j.delay === 'number' ? j.delay : 0;
      const timestamp = typeof j.timestamp === 'number' ? j.timestamp : undefined;
      if (delay > 0 && timestamp !== undefined) return `lease · ${session} · closes at ${shown.time(timestamp + delay)} unless renewed`;
      return `close · ${session} (lease)`;
    }
    const redrive = d.redriveCount !== undefined && d.redriveCount !== 0 ? ` (re-drive ${shown.count(d.redriveCount)})` : '';
    return `close · ${session}${redrive}`;
  },
  () => 'close · (unreadable job)',
);

/** A close job's data as the operator reads it. */
export const formatCloseData = total(
  (data): Record<string, unknown> => {
    const d = asObject(data);
    return compact({
      session: shown.text(d.sessionId, MAX_ID_SHOWN),
      enqueued: shown.time(d.enqueuedAt),
      source: shown.text(d.source, MAX_ID_SHOWN),
      projectId: shown.text(d.projectId, MAX_ID_SHOWN),
      requestId: shown.text(d.requestId, MAX_ID_SHOWN),
      redriveCount: shown.count(d.redriveCount),
      lease: d.lease === true ? 'yes: this close was scheduled by a lease; while delayed, it runs at its deadline unless renewed (bb-reaper lease --list)' : undefined,
      history: describeHistory(d.history),
    });
  },
  (data) => ({ unreadable: previewValue(data, 500) }),
);

/** A completed close's result: outcome, status and when (a value of another shape is previewed; none stays none). */
export const formatCloseResult = total(
  (value): unknown => {
    if (value === null || value === undefined) return value;
    const r = asObject(value);
    if (typeof r.outcome !== 'string' || r.outcome === '') return `(not a close result: ${previewValue(value, 500)})`;
    return compact({
      outcome: shown.text(r.outcome, MAX_ID_SHOWN),
      status: shown.text(r.status, MAX_ID_SHOWN),
      httpStatus: shown.count(r.httpStatus),
      attempts: shown.count(r.attempts),
      finished: shown.time(r.finishedAt),
      lease: shown.text(r.leaseEnd, MAX_ID_SHOWN),
      minutesSaved: shown.count(r.minutesSaved),
    });
  },
  (value) => previewValue(value, 500),
);
