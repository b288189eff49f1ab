import { STATUS_CODES } from 'node:http';
import { BbReaperError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';

/**
 * Stable codes of `BrowserbaseError`, one meaning (and one worker action) each:
 * - `RATE_LIMITED`: 429; wait `retryAfterMs` (capped) and slow every worker down.
 * - `TRANSIENT`: 5xx, 408, 409, socket errors, connect/headers/body timeouts, a malformed 2xx
 *   body, or a verification that timed out; retry with backoff.
 * - `REJECTED`: 400, 401, 403, 422 and every other 4xx (and unexpected 1xx/3xx), and a 404 that
 *   is not Browserbase's own (not its JSON error body, or "no such route": a wrong base URL or a
 *   proxy); retrying cannot help, dead-letter at once.
 * - `NOT_FOUND`: a 404 with Browserbase's error body (the close itself treats it as "already
 *   gone" and never throws it).
 * - `INVALID_SESSION_ID`: the id failed validation; no request was made.
 * - `ABORTED`: the caller's `AbortSignal` fired.
 */
export const BROWSERBASE_ERROR_CODES = ['RATE_LIMITED', 'TRANSIENT', 'REJECTED', 'NOT_FOUND', 'INVALID_SESSION_ID', 'ABORTED'] as const;
export type BrowserbaseErrorCode = (typeof BROWSERBASE_ERROR_CODES)[number];

/** The request an error belongs to: method and path only, never headers (the API key is one). */
export interface RequestSummary {
  method: string;
  /** Path as sent, percent-encoded, with the query string. */
  path: string;
}

export interface BrowserbaseErrorOptions {
  statusCode?: number;
  retryAfterMs?: number;
  serverMessage?: string;
  request?: RequestSummary;
  cause?: unknown;
}

/** Every failure of the Browserbase client. Branch on `code`, never on the message. */
export class BrowserbaseError extends BbReaperError {
  // `declare`: optional fields stay absent (not `undefined` own properties) when not given.
  declare readonly code: BrowserbaseErrorCode;
  /** HTTP status of the answer, when there was one. */
  declare readonly statusCode?: number;
  /** Delay the server asked for (429: `retry-after-ms`, `retry-after`, `x-ratelimit-reset`), in ms. */
  declare readonly retryAfterMs?: number;
  /** The `message` field of the server's JSON error body, when present: key scrubbed, at most 1,000 characters. */
  declare readonly serverMessage?: string;
  /** Method and path of the failed request; absent when no request was made (`INVALID_SESSION_ID`). */
  declare readonly request?: RequestSummary;

  constructor(code: BrowserbaseErrorCode, message: string, options: BrowserbaseErrorOptions = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrowserbaseError';
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.serverMessage !== undefined) this.serverMessage = options.serverMessage;
    if (options.request !== undefined) this.request = options.request;
  }
}

/** True for errors whose code means "try again later" (`RATE_LIMITED`, `TRANSIENT`). */
export function isRetryableError(err: unknown): err is BrowserbaseError {
  return err instanceof BrowserbaseError && (err.code === 'RATE_LIMITED' || err.code === 'TRANSIENT');
}

/**
 * The error code of an HTTP status, or `undefined` for a 2xx (success). Pure.
 * 429 -> `RATE_LIMITED`; 404 -> `NOT_FOUND`; 408, 409, 5xx -> `TRANSIENT`; other 4xx (and
 * unexpected 1xx/3xx, which no retry can fix) -> `REJECTED`.
 */
export function classifyStatus(status: number): BrowserbaseErrorCode | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 429) return 'RATE_LIMITED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 408 || status === 409 || status >= 500) return 'TRANSIENT';
  return 'REJECTED';
}

/** "Browserbase answered 401 Unauthorized to POST /v1/sessions/abc: Invalid API key" (control characters of the message made visible). */
export function describeHttpError(request: RequestSummary, status: number, serverMessage: string | undefined, retryAfterMs?: number): string {
  const reason = STATUS_CODES[status] ?? 'Unknown Status';
  const tail = serverMessage ? `: ${printable(serverMessage)}` : ' (no message)';
  const wait = retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`;
  return `Browserbase answered ${status} ${reason} to ${request.method} ${request.path}${tail}${wait}`;
}
