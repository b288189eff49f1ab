import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { BrowserbaseError, type BrowserbaseClient, type CloseResult } from '../browserbase/index.js';
import { describeFailure } from '../dead-letters/describe.js';
import type { AttemptRecord, CloseJobData, CloseJobResult, LeaseEnd } from '../shared/jobs.js';
import type { Logger } from '../shared/logger.js';
import { DEFAULT_ACCOUNT } from '../shared/names.js';
import { previewValue } from '../shared/printable.js';
import { backoffDelayMs, rateLimitPauseMs } from './backoff.js';
import { attemptsThisLife, cutText, parseCloseJobData, withAttempt } from './job-data.js';
import { LimiterStoppedError, type GlobalLimiter } from './limiter.js';
import type { WorkerEvents } from './events.js';
import type { MetricsSink, ResultsSink } from './sinks.js';

export interface CloseProcessorDeps {
  client: BrowserbaseClient;
  limiter: GlobalLimiter;
  logger: Logger;
  events: WorkerEvents;
  metrics?: MetricsSink;
  results?: ResultsSink;
  /** Pauses fetching for every worker of the queue (BullMQ's queue-wide rate limit), ms. */
  pauseQueue: (ms: number) => Promise<void>;
  /** Attempts before dead-lettering (transient errors only). */
  attempts: number;
  /** Base delay of the exponential backoff (ms). */
  backoffMs: number;
  /** Cap of one backoff delay (ms). */
  backoffMaxMs: number;
  /** Confirm each close by polling GET until the session is terminal. */
  verify: boolean;
  /**
   * True while this worker still holds the job's lock. Checked before sending when the job
   * waited longer than `lockCheckAfterMs` for its slot: after a Redis outage the lock may have
   * expired and another worker taken the job, and sending again would close the session twice.
   */
  lockStillHeld?: (job: Job<CloseJobData>, token: string) => Promise<boolean>;
  /** Default 10 000 ms. */
  lockCheckAfterMs?: number;
  /** The account this processor's jobs are for (results carry it). Default `default`. */
  account?: string;
  /**
   * Settles the lease of a lease's close job when a worker takes it (`leases/lease-store.ts`
   * `settleTakenLease`): a pending lease has fired. Answers how it ended.
   */
  leases?: { taken(job: Job<CloseJobData>): Promise<{ state?: string; endedBy?: string; deadline?: number }> };
  random?: () => number;
}

/**
 * Browser minutes a close at `closedAt` (ms epoch) saved for a session billed until `expiresAt`
 * (an ISO time), to 0.01 min; undefined when nothing was saved. An upper bound: the session might
 * have ended sooner anyway.
 */
export function minutesSavedBy(expiresAt: string | undefined, closedAt: number): number | undefined {
  if (expiresAt === undefined) return undefined;
  const until = Date.parse(expiresAt);
  if (!Number.isFinite(until) || until <= closedAt) return undefined;
  return Math.round((until - closedAt) / 600) / 100;
}

/** How a lease ended, from what `leases.taken` answered. */
function leaseEndOf(taken: { state?: string; endedBy?: string }): LeaseEnd | undefined {
  if (taken.state === 'fired') return 'fired';
  if (taken.state === 'released') return taken.endedBy === 'close' ? 'superseded' : 'released';
  return undefined;
}

/**
 * Why a close stopped for good. Its code travels structurally: the record is the job's newest
 * history entry (written before this is thrown), which the dead letter takes its code from; the
 * message (`REJECTED (HTTP 401): ...`) is only the job's readable failure reason.
 */
class FinalFailure extends UnrecoverableError {
  constructor(readonly record: AttemptRecord) {
    super(describeFailure({ code: record.code, httpStatus: record.httpStatus, message: record.message ?? 'failed' }));
    this.name = 'FinalFailure';
  }
}

/** Not sent: the job's lock expired while it waited and another worker owns it now. */
export class LockLostError extends Error {
  constructor() {
    super('lock lost while waiting for a limiter slot; another worker owns the job now, so it was not sent');
    this.name = 'LockLostError';
  }
}

/** Not sent because every worker is paused after a 429: the job goes back to wait. */
class PausedSignal extends Error {
  constructor(readonly until: number) {
    super('paused after a 429');
  }
}

/**
 * The close job processor, a plain function of its dependencies:
 * - waits for a global limiter slot, then sends the close;
 * - 2xx / 404 -> done (`closed`, `already_gone`, `verified`);
 * - 429 -> every worker pauses for the server's delay and the shared rate drops; the job goes
 *   back to wait without using an attempt;
 * - transient (5xx, 408, 409, socket, timeout) -> retried later with backoff, up to `attempts`;
 * - rejected (400/401/403/422), invalid id or data -> dead-lettered at once.
 */
export function createCloseProcessor(deps: CloseProcessorDeps) {
  const { client, limiter, logger, events, metrics, results } = deps;
  return async function processClose(job: Job<CloseJobData>, token?: string, signal?: AbortSignal): Promise<CloseJobResult> {
    let data: CloseJobData;
    try {
      data = parseCloseJobData(job.data);
    } catch (err) {
      // Dead-lettered at once by BullMQ (an UnrecoverableError): never retried, never sent.
      logger.warn({ jobId: job.id, code: 'INVALID_JOB', err: (err as Error).message }, 'invalid close job data; dead-lettering it');
      throw err;
    }
    const attempt = attemptsThisLife(data) + 1;
    // The job's child logger, made only when a line is written (most closes write none at `warn`).
    let child: Logger | undefined;
    const log = () => (child ??= logger.child({ jobId: job.id, sessionId: data.sessionId, attempt }));
    const started = Date.now();
    let leaseEnd: LeaseEnd | undefined;
    if (data.lease === true && deps.leases) {
      // A lease's job taken by a worker: the lease fired now (or was released earlier). Settled
      // before anything else, so a renewal can never move this close again (not even a retry's).
      try {
        const taken = await deps.leases.taken(job);
        leaseEnd = leaseEndOf(taken);
        if (leaseEnd === 'fired' && attempt === 1) log().info({ lateMs: taken.deadline !== undefined ? started - taken.deadline : undefined }, 'lease fired: closing');
      } catch (err) {
        log().warn({ err: (err as Error).message }, 'could not settle the lease of this close; closing all the same');
      }
    }
    let result: CloseResult;
    try {
      const paused = limiter.pausedUntil();
      if (paused) throw new PausedSignal(paused);
      result = await limiter.schedule(async () => {
        const p = limiter.pausedUntil();
        if (p) throw new PausedSignal(p);
        if (token && deps.lockStillHeld && Date.now() - started > (deps.lockCheckAfterMs ?? 10_000) && !(await deps.lockStillHeld(job, token))) {
          throw new LockLostError();
        }
        const r = await client.closeSession(data.sessionId, {
          verify: deps.verify,
          ...(signal ? { signal } : {}),
          ...(data.projectId !== undefined ? { projectId: data.projectId } : {}),
        });
        limiter.reportOk();
        return r;
      });
    } catch (err) {
      return handleFailure(err, job, data, attempt, token, log(), started);
    }
    const finishedAt = Date.now();
    const minutesSaved = minutesSavedBy(result.expiresAt, finishedAt);
    const extra = { ...(minutesSaved !== undefined ? { minutesSaved } : {}), ...(leaseEnd !== undefined ? { leaseEnd } : {}) };
    const out: CloseJobResult = { id: result.id, status: result.status, outcome: result.outcome, httpStatus: result.httpStatus, attempts: attempt, finishedAt, ...extra };
    await results?.append({
      account: deps.account ?? DEFAULT_ACCOUNT,
      jobId: String(job.id),
      jobTimestamp: job.timestamp,
      sessionId: data.sessionId,
      ...(data.requestId !== undefined ? { requestId: data.requestId } : {}),
      outcome: result.outcome,
      status: String(result.status),
      httpStatus: result.httpStatus,
      attempts: attempt,
      finishedAt,
      ...(data.lease === true ? { lease: true } : {}),
      ...extra,
    });
    metrics?.closeOutcome(result.outcome);
    if (minutesSaved !== undefined) metrics?.minutesSaved?.(minutesSaved);
    if (logger.isLevelEnabled('info')) log().info({ code: 'OK', outcome: result.outcome, status: result.status, httpStatus: result.httpStatus, durationMs: finishedAt - started }, 'session closed');
    events.emit('closed', { ...out, sessionId: data.sessionId, jobId: String(job.id), ...(data.requestId !== undefined ? { requestId: data.requestId } : {}) });
    return out;
  };

  async function handleFailure(err: unknown, job: Job<CloseJobData>, data: CloseJobData, attempt: number, token: string | undefined, log: Logger, started: number): Promise<never> {
    const durationMs = Date.now() - started;
    if (err instanceof LockLostError) {
      log.warn({ durationMs }, err.message);
      throw err; // BullMQ cannot move a job it no longer owns; the owner finishes it
    }
    if (err instanceof PausedSignal || (err instanceof BrowserbaseError && err.code === 'RATE_LIMITED')) {
      let until = err instanceof PausedSignal ? err.until : 0;
      if (err instanceof BrowserbaseError) {
        const pause = rateLimitPauseMs(err.retryAfterMs);
        metrics?.rateLimited(err.retryAfterMs);
        const state = await limiter.report429(pause);
        until = state.pausedUntil;
        log.warn({ code: err.code, httpStatus: 429, retryAfterMs: err.retryAfterMs, pauseMs: pause, effectiveRate: round(state.effectiveRate), durationMs }, 'rate limited: pausing every worker');
        events.emit('rate-limited', { retryAfterMs: pause, effectiveRate: state.effectiveRate });
      }
      await deps.pauseQueue(Math.max(50, until - Date.now()));
      // Back to wait without using an attempt (a 429 never dead-letters a job).
      if (token) await job.moveToWait(token);
      throw new WaitingError();
    }
    if (err instanceof LimiterStoppedError || (err instanceof BrowserbaseError && err.code === 'ABORTED')) {
      // Shutting down: not sent (or cancelled); back to the queue at once, no attempt used.
      if (token) await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    const record: AttemptRecord = {
      attempt,
      at: Date.now(),
      code: err instanceof BrowserbaseError ? err.code : 'TRANSIENT',
      ...(err instanceof BrowserbaseError && err.statusCode !== undefined ? { httpStatus: err.statusCode } : {}),
      // Cut: whatever an API (or a proxy before it) answered, the history and the letter stay small.
      message: cutText(err instanceof BrowserbaseError ? (err.serverMessage ?? err.message) : err instanceof Error ? err.message : typeof err === 'string' ? err : previewValue(err, 200)),
    };
    const retryable = !(err instanceof BrowserbaseError) || err.code === 'TRANSIENT';
    const fields = { code: record.code, httpStatus: record.httpStatus, durationMs, err: record.message };
    if (retryable && attempt < deps.attempts) {
      const delayMs = backoffDelayMs(attempt, deps.backoffMs, deps.backoffMaxMs, deps.random);
      await job.updateData(withAttempt(data, record));
      if (token) await job.moveToDelayed(Date.now() + delayMs, token);
      metrics?.retry(record.code);
      log.warn({ ...fields, delayMs }, 'close failed; will retry');
      events.emit('retrying', { sessionId: data.sessionId, attempt, code: record.code, delayMs });
      throw new DelayedError();
    }
    await job.updateData(withAttempt(data, record));
    log.error({ ...fields, attempts: attempt }, retryable ? 'close failed on its last attempt' : 'close rejected');
    throw new FinalFailure(record);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
