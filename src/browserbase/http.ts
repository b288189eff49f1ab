import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import type { Pool as UndiciPool } from 'undici';
import type { z } from 'zod';
import { printable, previewValue } from '../shared/printable.js';
import { BrowserbaseError, classifyStatus, describeHttpError, type RequestSummary } from './errors.js';
import { readCapped, type CappedBody } from './read-body.js';
import {
  capText,
  checkShape,
  errorBodyMessage,
  isBrowserbaseErrorBody,
  isRouteNotFound,
  MAX_ERROR_BODY_BYTES,
  MAX_SERVER_MESSAGE_CHARS,
  MAX_SUCCESS_BODY_BYTES,
  parseJson,
} from './responses.js';
import { parseRetryAfter } from './retry-after.js';
import type { RequestOptions } from './types.js';

export interface TransportOptions {
  /** `https://api.browserbase.com` or any origin plus an optional path prefix. */
  baseUrl: URL;
  apiKey: string;
  userAgent: string;
  connections: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  onResponse?: ResponseObserver;
}

/** What `onResponse` sees of every request: never headers, never the key. */
export interface ResponseInfo {
  method: string;
  /** Path as sent, percent-encoded. */
  path: string;
  /** HTTP status, or `'error'` when no response arrived (socket error, timeout). */
  status: number | 'error';
  durationMs: number;
}

export type ResponseObserver = (info: ResponseInfo) => void;

export interface ExchangeOptions extends RequestOptions {
  method: 'GET' | 'POST';
  /** Path below the base URL, already percent-encoded, with any query string. */
  path: string;
  body?: unknown;
}

export interface SendOptions<T> extends ExchangeOptions {
  /** What a 2xx body must look like. */
  shape: z.ZodType<T>;
}

/** One answer as `exchange` returns it: bounded, and the key scrubbed from every text in it. */
export interface Answer {
  request: RequestSummary;
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; `undefined` when it is empty, not JSON, cut at the size limit, or failed to arrive. */
  body: unknown;
  /** Non-2xx: the body's `message`, at most {@link MAX_SERVER_MESSAGE_CHARS} characters. */
  serverMessage?: string;
  /** What came back, e.g. `text/html "<h1>Not Found</h1>"`: bounded, printable, built when called. */
  describe(): string;
}

export interface Transport {
  /** Sends one request; resolves for a 2xx with a well-formed body, throws `BrowserbaseError` otherwise. */
  send<T>(opts: SendOptions<T>): Promise<{ statusCode: number; data: T }>;
  /**
   * Sends one request and returns whatever answer came back, whatever its status; throws only when
   * no whole answer arrived (`TRANSIENT`, `ABORTED`) or a 2xx body is too large (`TRANSIENT`).
   */
  exchange(opts: ExchangeOptions): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * undici's Pool, loaded on its own: undici's index installs undici 7 as the global dispatcher of
 * Node's built-in `fetch` when it loads, and Node 20's fetch then rejects every request with a
 * `content-length` header — which broke the official SDK's POSTs in any process that imported
 * bb-reaper (`test/e2e/global-fetch.test.ts`). The Pool and API modules have no such side effect.
 */
const Pool = loadPool();

function loadPool(): typeof UndiciPool {
  const require = createRequire(import.meta.url);
  const pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
  // What undici's index does besides the global dispatcher: give dispatchers `request()` & co.
  const dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: Record<string, unknown> };
  if (typeof dispatcher.prototype.request !== 'function') Object.assign(dispatcher.prototype, require('undici/lib/api/index.js'));
  return pool;
}

const REDACTED = '[redacted]';

/** One keep-alive undici `Pool` to the API origin; maps every failure to a `BrowserbaseError`. */
export function createTransport(o: TransportOptions): Transport {
  const prefix = o.baseUrl.pathname.replace(/\/+$/, '');
  const pool = new Pool(o.baseUrl.origin, {
    connections: o.connections,
    connectTimeout: o.connectTimeoutMs,
    headersTimeout: o.headersTimeoutMs,
    bodyTimeout: o.bodyTimeoutMs,
    pipelining: 1,
  });

  /** The key must never reach a message or a cause, whatever a server echoes back. */
  const scrub = (text: string): string => (text.includes(o.apiKey) ? text.split(o.apiKey).join(REDACTED) : text);
  const safeCause = (err: unknown): unknown => {
    if (!inspect(err, { depth: 4 }).includes(o.apiKey)) return err;
    const e = err as { message?: unknown; code?: unknown; name?: unknown };
    const copy = new Error(scrub(String(e.message ?? err)));
    copy.name = typeof e.name === 'string' ? e.name : 'Error';
    if (typeof e.code === 'string') Object.assign(copy, { code: e.code });
    return copy;
  };

  function describeFailure(err: unknown, headersTimeoutMs: number, bodyTimeoutMs: number): string {
    const code = (err as { code?: unknown })?.code;
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return `no connection within ${o.connectTimeoutMs} ms (connect timeout, ${code})`;
      case 'UND_ERR_HEADERS_TIMEOUT':
        return `no response headers within ${headersTimeoutMs} ms (headers timeout, ${code})`;
      case 'UND_ERR_BODY_TIMEOUT':
        return `the response body stalled for ${bodyTimeoutMs} ms (body timeout, ${code})`;
      default: {
        const msg = err instanceof Error ? err.message : String(err);
        return scrub(typeof code === 'string' ? `${msg} (${code})` : msg);
      }
    }
  }

  /** Why a 404 is not Browserbase saying "no such session", or `undefined` when it is. */
  function notFoundProblem(a: Answer): string | undefined {
    if (!isBrowserbaseErrorBody(a.body, 404)) return ` with ${a.describe()}, not Browserbase's JSON error body`;
    if (isRouteNotFound(a.serverMessage)) return `: ${previewValue(a.serverMessage, 200)} (no such route)`;
    return undefined;
  }

  /** The error of a non-2xx answer; a 404 is `NOT_FOUND` only when Browserbase itself said it. */
  function errorFor(a: Answer): BrowserbaseError {
    const code = classifyStatus(a.statusCode) ?? 'REJECTED';
    const { request, statusCode } = a;
    const problem = code === 'NOT_FOUND' ? notFoundProblem(a) : undefined;
    if (problem !== undefined) {
      return new BrowserbaseError(
        'REJECTED',
        `The server answered 404 Not Found to ${request.method} ${request.path}${problem}; this 404 does not say the session is gone: check BROWSERBASE_BASE_URL`,
        { statusCode, request },
      );
    }
    const retryAfterMs = parseRetryAfter(a.headers, Date.now());
    return new BrowserbaseError(code, describeHttpError(request, statusCode, a.serverMessage, retryAfterMs), {
      statusCode,
      retryAfterMs,
      serverMessage: a.serverMessage,
      request,
    });
  }

  /** A bounded, printable account of a body for messages: content type and the start of the text. */
  function describeBody(headers: Answer['headers'], text: string | undefined, truncated: boolean): string {
    const type = headers['content-type'];
    const kind = typeof type === 'string' && type !== '' ? printable(capText(type, 100)) : 'no content-type';
    if (text === undefined) return `${kind} and a body that failed to arrive`;
    if (text === '') return `${kind} and an empty body`;
    // The preview shows 80 characters: scrubbing the first 4 KiB is enough to keep the key out.
    const clean = scrub(text.length > 4096 ? text.slice(0, 4096) : text);
    const shown = clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
    const size = text.length > 80 ? ` (${truncated ? 'more than ' : ''}${Buffer.byteLength(text)} bytes)` : '';
    return `${kind} ${previewValue(shown, 81)}${size}`;
  }

  async function exchange(s: ExchangeOptions): Promise<Answer> {
    const request: RequestSummary = { method: s.method, path: prefix + s.path };
    const headersTimeoutMs = s.headersTimeoutMs ?? o.headersTimeoutMs;
    const bodyTimeoutMs = s.bodyTimeoutMs ?? o.bodyTimeoutMs;
    const headers: Record<string, string> = { 'x-bb-api-key': o.apiKey, 'user-agent': o.userAgent, accept: 'application/json' };
    if (s.body !== undefined) headers['content-type'] = 'application/json';
    const aborted = () =>
      new BrowserbaseError('ABORTED', `Browserbase request ${request.method} ${request.path} was aborted by the caller`, {
        request,
        cause: s.signal?.reason,
      });
    if (s.signal?.aborted) throw aborted();

    const started = performance.now();
    const observe = (status: number | 'error') => o.onResponse?.({ method: request.method, path: request.path, status, durationMs: performance.now() - started });
    let statusCode: number;
    let read: CappedBody | undefined;
    let tooLarge = false;
    let responseHeaders: Answer['headers'];
    try {
      const res = await pool.request({
        method: s.method,
        path: request.path,
        headers,
        body: s.body === undefined ? undefined : JSON.stringify(s.body),
        signal: s.signal,
        headersTimeout: headersTimeoutMs,
        bodyTimeout: bodyTimeoutMs,
      });
      statusCode = res.statusCode;
      responseHeaders = res.headers;
      const success = classifyStatus(statusCode) === undefined;
      if (success && Number(res.headers['content-length']) > MAX_SUCCESS_BODY_BYTES) {
        tooLarge = true;
        res.body.destroy();
      } else if (success || statusCode === 404) {
        // A 2xx body is the result, and a 404's body decides whether the session is gone.
        read = await readCapped(res.body, success ? MAX_SUCCESS_BODY_BYTES : MAX_ERROR_BODY_BYTES);
        tooLarge = success && read.truncated;
      } else {
        // The status decides; a body that fails to arrive only costs us the server's message.
        read = await readCapped(res.body, MAX_ERROR_BODY_BYTES).catch((err: unknown) => {
          if (s.signal?.aborted) throw err;
          return undefined;
        });
      }
    } catch (err) {
      if (s.signal?.aborted) throw aborted();
      observe('error');
      throw new BrowserbaseError('TRANSIENT', `Browserbase request ${request.method} ${request.path} failed: ${describeFailure(err, headersTimeoutMs, bodyTimeoutMs)}`, {
        request,
        cause: safeCause(err),
      });
    }

    observe(statusCode);
    if (tooLarge) {
      throw new BrowserbaseError(
        'TRANSIENT',
        `Browserbase answered ${statusCode} to ${request.method} ${request.path} with a body larger than ${MAX_SUCCESS_BODY_BYTES} bytes, the most the client reads: answer too large`,
        { statusCode, request },
      );
    }
    const text = read?.bytes.toString('utf8');
    const body = text === undefined || read?.truncated ? undefined : parseJson(text);
    const describe = () => describeBody(responseHeaders, text, read?.truncated ?? false);
    if (classifyStatus(statusCode) === undefined) return { request, statusCode, headers: responseHeaders, body, describe };
    const raw = errorBodyMessage(body);
    return {
      request,
      statusCode,
      headers: responseHeaders,
      body,
      ...(raw === undefined ? {} : { serverMessage: capText(scrub(raw), MAX_SERVER_MESSAGE_CHARS) }),
      describe,
    };
  }

  async function send<T>(s: SendOptions<T>): Promise<{ statusCode: number; data: T }> {
    const a = await exchange(s);
    if (classifyStatus(a.statusCode) !== undefined) throw errorFor(a);
    const checked = checkShape(s.shape, a.body);
    if (!checked.ok) {
      throw new BrowserbaseError(
        'TRANSIENT',
        `Browserbase answered ${a.statusCode} to ${a.request.method} ${a.request.path} with a malformed response: ${checked.problem}`,
        { statusCode: a.statusCode, request: a.request },
      );
    }
    return { statusCode: a.statusCode, data: checked.value };
  }

  return {
    send,
    exchange,
    async close() {
      await pool.close();
    },
  };
}
