import { setTimeout as sleep } from 'node:timers/promises';
import { previewValue, printable } from '../shared/printable.js';
import { BrowserbaseError } from './errors.js';
import type { Transport } from './http.js';
import { RESPONSE_SHAPES } from './responses.js';
import { assertSessionId, encodeSessionId } from './session-id.js';
import { ACTIVE_STATUSES, isTerminalStatus, type CloseOptions, type CloseResult, type RequestOptions } from './types.js';

/** Default upper bound of `verify` polling, in ms. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 10_000;
/** First delay between verification GETs, in ms; doubles up to `VERIFY_MAX_DELAY_MS`. */
export const VERIFY_FIRST_DELAY_MS = 100;
/** Longest delay between verification GETs, in ms. */
export const VERIFY_MAX_DELAY_MS = 1_000;

export interface CloseDeps {
  transport: Transport;
  /** The client's default `projectId`. */
  projectId?: string;
}

/**
 * Releases a session with the real API's semantics:
 * - 2xx -> `closed` (status from the body, often still `RUNNING`: release is asynchronous);
 * - Browserbase's own 404 (its JSON error body, not "no such route") -> `already_gone` (status
 *   `NOT_FOUND`); when the close carried a `projectId`, one follow-up GET (which carries none)
 *   first checks the session is not simply in another project: still active -> `REJECTED`
 *   naming the projectId;
 * - any other 404 (a proxy's page, a wrong base URL) -> `REJECTED`, never `already_gone`;
 * - another 4xx except 429 -> one follow-up GET decides: terminal status or Browserbase's 404 ->
 *   `already_gone`; still active -> the close's own error (409 `TRANSIENT`, 400 `REJECTED`, ...);
 *   a GET that itself fails with `RATE_LIMITED`/`TRANSIENT`/`ABORTED` throws that error (nothing
 *   is known yet, so the caller retries), and one that is not Browserbase's 404 throws that;
 * - `verify: true` then polls GET until the session is terminal -> `verified`.
 */
export async function closeSessionWith(deps: CloseDeps, id: string, opts: CloseOptions = {}): Promise<CloseResult> {
  assertSessionId(id);
  const path = `/v1/sessions/${encodeSessionId(id)}`;
  const projectId = opts.projectId ?? deps.projectId;
  const body = projectId === undefined ? { status: 'REQUEST_RELEASE' } : { status: 'REQUEST_RELEASE', projectId };
  const req = requestOptions(opts);
  let result: CloseResult;
  const requestedAt = Date.now();
  try {
    const { statusCode, data } = await deps.transport.send({ method: 'POST', path, body, shape: RESPONSE_SHAPES.session, ...req });
    const expiresAt = runningUntil(data, requestedAt);
    result = { id, status: data.status, outcome: 'closed', httpStatus: statusCode, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  } catch (err) {
    return settleRefusedClose(deps, id, path, projectId, err, req);
  }
  return opts.verify ? verifyReleased(deps, path, result, opts) : result;
}

/**
 * The release answer's `expiresAt` when the session ran until this release: it is still active
 * (release is asynchronous), or it ended no earlier than the request was sent (a server that
 * releases at once). Undefined for a session that had ended before, or without a readable `expiresAt`.
 */
function runningUntil(data: { status: string; expiresAt?: unknown; endedAt?: unknown }, requestedAt: number): string | undefined {
  if (typeof data.expiresAt !== 'string' || !Number.isFinite(Date.parse(data.expiresAt))) return undefined;
  if ((ACTIVE_STATUSES as readonly string[]).includes(data.status)) return data.expiresAt;
  const ended = typeof data.endedAt === 'string' ? Date.parse(data.endedAt) : Number.NaN;
  return Number.isFinite(ended) && ended >= requestedAt ? data.expiresAt : undefined;
}

function requestOptions(opts: RequestOptions): RequestOptions {
  return { signal: opts.signal, headersTimeoutMs: opts.headersTimeoutMs, bodyTimeoutMs: opts.bodyTimeoutMs };
}

async function settleRefusedClose(deps: CloseDeps, id: string, path: string, projectId: string | undefined, err: unknown, req: RequestOptions): Promise<CloseResult> {
  if (!(err instanceof BrowserbaseError) || err.statusCode === undefined) throw err;
  const status = err.statusCode;
  // NOT_FOUND is Browserbase's own 404; the transport makes any other 404 REJECTED.
  if (err.code === 'NOT_FOUND') {
    return projectId === undefined ? { id, status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 } : settleNotFoundInProject(deps, id, path, projectId, err, req);
  }
  if (status === 404 || status < 400 || status >= 500 || status === 429) throw err;
  try {
    const { data } = await deps.transport.send({ method: 'GET', path, shape: RESPONSE_SHAPES.session, ...req });
    if (isTerminalStatus(data.status)) return { id, status: data.status, outcome: 'already_gone', httpStatus: status };
  } catch (getErr) {
    if (getErr instanceof BrowserbaseError) {
      if (getErr.code === 'NOT_FOUND') return { id, status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: status };
      if (getErr.code === 'RATE_LIMITED' || getErr.code === 'TRANSIENT' || getErr.code === 'ABORTED') throw getErr;
      if (getErr.statusCode === 404) throw getErr; // not Browserbase's 404: the base URL is wrong
    }
  }
  throw err;
}

/**
 * A close that carried `projectId` answered Browserbase's 404. The simulator (and, as far as is
 * known, the API) answers 404 too when the session exists but is not in that project, so a GET
 * without `projectId` tells the two apart: the session still active means the projectId is wrong
 * (`REJECTED`, dead-lettered rather than reported as closed); terminal or 404 means it is gone.
 */
async function settleNotFoundInProject(deps: CloseDeps, id: string, path: string, projectId: string, closeErr: BrowserbaseError, req: RequestOptions): Promise<CloseResult> {
  let status: string;
  try {
    ({ data: { status } } = await deps.transport.send({ method: 'GET', path, shape: RESPONSE_SHAPES.session, ...req }));
  } catch (getErr) {
    if (getErr instanceof BrowserbaseError && getErr.code === 'NOT_FOUND') return { id, status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 };
    throw getErr;
  }
  if (isTerminalStatus(status)) return { id, status, outcome: 'already_gone', httpStatus: 404 };
  throw new BrowserbaseError(
    'REJECTED',
    `Session ${id} is still ${printable(status)}, but closing it with projectId ${previewValue(projectId, 80)} answered 404: the session is not in that project (check the close's projectId or BROWSERBASE_PROJECT_ID)`,
    { statusCode: 404, request: closeErr.request, cause: closeErr },
  );
}

/** An AbortSignal that fires when the caller's does or after `ms`; `dispose` frees the timer. */
function deadlineSignal(caller: AbortSignal | undefined, ms: number): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(caller?.reason);
  caller?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => ac.abort(new Error(`verification deadline of ${ms} ms reached`)), ms);
  return {
    signal: ac.signal,
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}

async function verifyReleased(deps: CloseDeps, path: string, first: CloseResult, opts: CloseOptions): Promise<CloseResult> {
  const timeoutMs = opts.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const request = { method: 'GET', path };
  let status = first.status;
  let delay = VERIFY_FIRST_DELAY_MS;
  for (;;) {
    if (isTerminalStatus(status)) return { ...first, status, outcome: 'verified' };
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new BrowserbaseError(
        'TRANSIENT',
        `Session ${first.id} was still ${printable(status)} after ${timeoutMs} ms of verification (verifyTimeoutMs); the release was requested but not confirmed`,
        { request },
      );
    }
    try {
      await sleep(Math.min(delay, remaining), undefined, { signal: opts.signal });
    } catch (cause) {
      throw new BrowserbaseError('ABORTED', `Verification of the close of session ${first.id} was aborted by the caller`, { request, cause });
    }
    delay = Math.min(delay * 2, VERIFY_MAX_DELAY_MS);
    const { signal, dispose } = deadlineSignal(opts.signal, Math.max(1, deadline - Date.now()));
    try {
      const { data } = await deps.transport.send({ ...requestOptions(opts), method: 'GET', path, shape: RESPONSE_SHAPES.session, signal });
      status = data.status;
    } catch (err) {
      if (opts.signal?.aborted || !(err instanceof BrowserbaseError)) throw err;
      if (err.code === 'NOT_FOUND') return { ...first, status: 'NOT_FOUND', outcome: 'verified' };
      if (err.code === 'RATE_LIMITED' && err.retryAfterMs !== undefined) delay = Math.min(Math.max(delay, err.retryAfterMs), VERIFY_MAX_DELAY_MS);
      // ABORTED here means our own deadline fired: the next turn reports the timeout.
      if (err.code !== 'RATE_LIMITED' && err.code !== 'TRANSIENT' && err.code !== 'ABORTED') throw err;
    } finally {
      dispose();
    }
  }
}
