import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { previewValue } from '../shared/printable.js';
import { BrowserbaseError, classifyStatus, describeHttpError } from './errors.js';
import type { Answer, Transport } from './http.js';
import { isBrowserbaseErrorBody, isRouteNotFound, RESPONSE_SHAPES } from './responses.js';
import { parseRetryAfter } from './retry-after.js';
import type { RequestOptions } from './types.js';

/** The base URL for a message: credentials in it (`https://user:pass@host`) are left out. */
function shownUrl(baseUrl: URL): string {
  const u = new URL(baseUrl.href);
  u.username = '';
  u.password = '';
  return u.href.replace(/\/$/, '');
}

/**
 * One cheap authenticated read that only the Browserbase API answers the expected way:
 * `GET /v1/sessions/<random uuid>` must answer Browserbase's own 404 (its JSON error body, not
 * "no such route"). Resolves when it does; throws `REJECTED` with one clear sentence when the
 * key is refused (401/403 in Browserbase's shape) or the answer is not the API's (a proxy's page,
 * a wrong path, a 2xx that is not a session); throws the `TRANSIENT` / `RATE_LIMITED` /
 * `ABORTED` error as it is when no verdict was possible (retry later).
 */
export async function checkApiWith(transport: Transport, baseUrl: URL, opts: RequestOptions = {}): Promise<void> {
  const a = await transport.exchange({ method: 'GET', path: `/v1/sessions/${randomUUID()}`, ...opts });
  const code = classifyStatus(a.statusCode);
  if (code === 'RATE_LIMITED' || code === 'TRANSIENT') {
    const retryAfterMs = parseRetryAfter(a.headers, Date.now());
    throw new BrowserbaseError(code, describeHttpError(a.request, a.statusCode, a.serverMessage, retryAfterMs), {
      statusCode: a.statusCode,
      retryAfterMs,
      request: a.request,
      ...(a.serverMessage === undefined ? {} : { serverMessage: a.serverMessage }),
    });
  }
  const shaped = isBrowserbaseErrorBody(a.body, a.statusCode);
  if (code === 'NOT_FOUND' && shaped && !isRouteNotFound(a.serverMessage)) return;
  if (code === undefined && RESPONSE_SHAPES.session.safeParse(a.body).success) return;
  const url = shownUrl(baseUrl);
  if ((a.statusCode === 401 || a.statusCode === 403) && shaped) {
    throw new BrowserbaseError(
      'REJECTED',
      `the API key (BROWSERBASE_API_KEY or --api-key) was refused by ${url} (${a.statusCode} ${STATUS_CODES[a.statusCode] ?? ''}${a.serverMessage ? `: ${previewValue(a.serverMessage, 200)}` : ''})`,
      { statusCode: a.statusCode, request: a.request },
    );
  }
  throw new BrowserbaseError('REJECTED', `BROWSERBASE_BASE_URL=${url} does not answer like the Browserbase API (${got(a)})`, {
    statusCode: a.statusCode,
    request: a.request,
  });
}

/** "GET /api/v1/sessions/… got 404 text/html "<h1>Not Found</h1>"" for the refusal line. */
function got(a: Answer): string {
  const head = `${a.request.method} ${a.request.path} got ${a.statusCode}`;
  if (classifyStatus(a.statusCode) === undefined) return `${head} ${a.describe()}, not a session`;
  if (isBrowserbaseErrorBody(a.body, a.statusCode)) {
    const route = isRouteNotFound(a.serverMessage) ? ', no such route' : '';
    return `${head} ${previewValue(a.serverMessage, 200)}${route}; expected Browserbase's 404 for an unknown session`;
  }
  return `${head} ${a.describe()}, not Browserbase's JSON error body`;
}
