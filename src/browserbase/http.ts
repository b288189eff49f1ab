import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import type { Pool as UndiciPool } from 'undici';
import type { z } from 'zod';
import { BrowserbaseError, classifyStatus, describeHttpError, type RequestSummary } from './errors.js';
import { checkShape, errorBodyMessage, parseJson } from './responses.js';
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

export interface SendOptions<T> extends RequestOptions {
  method: 'GET' | 'POST';
  /** Path below the base URL, already percent-encoded, with any query string. */
  path: string;
  body?: unknown;
  /** What a 2xx body must look like. */
  shape: z.ZodType<T>;
}

export interface Transport {
  /** Sends one request; resolves for a 2xx with a well-formed body, throws `BrowserbaseError` otherwise. */
  send<T>(opts: SendOptions<T>): Promise<{ statusCode: number; data: T }>;
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

  async function send<T>(s: SendOptions<T>): Promise<{ statusCode: number; data: T }> {
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
    let text: string | undefined;
    let responseHeaders: Record<string, string | string[] | undefined>;
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
      if (classifyStatus(statusCode) === undefined) {
        text = await res.body.text();
      } else {
        // The status decides; a body that fails to arrive only costs us the server's message.
        text = await res.body.text().catch((err: unknown) => {
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
    const body = text === undefined ? undefined : parseJson(text);
    const code = classifyStatus(statusCode);
    if (code !== undefined) {
      const raw = errorBodyMessage(body);
      const serverMessage = raw === undefined ? undefined : scrub(raw);
      const retryAfterMs = parseRetryAfter(responseHeaders, Date.now());
      throw new BrowserbaseError(code, describeHttpError(request, statusCode, serverMessage, retryAfterMs), {
        statusCode,
        retryAfterMs,
        serverMessage,
        request,
      });
    }
    const checked = checkShape(s.shape, body);
    if (!checked.ok) {
      throw new BrowserbaseError(
        'TRANSIENT',
        `Browserbase answered ${statusCode} to ${request.method} ${request.path} with a malformed response: ${checked.problem}`,
        { statusCode, request },
      );
    }
    return { statusCode, data: checked.value };
  }

  return {
    send,
    async close() {
      await pool.close();
    },
  };
}
