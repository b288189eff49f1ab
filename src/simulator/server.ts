import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Session } from '../browserbase/types.js';
import { isLoopbackHost } from '../shared/same-site.js';
import { adminCrossSiteReason, handleAdminRequest, readAdminBody, revokeKey, seedSessions, simulatorStats, updateFaults } from './admin-routes.js';
import { handleApiRequest } from './api-routes.js';
import type { CallRecord } from './call-log.js';
import { drawFault, drawLatencyMs, type Faults } from './faults.js';
import { HttpError, readJsonBody, sendError, sendJson, splitUrl } from './http-io.js';
import { resolveSimulatorOptions, type SimulatorOptions } from './options.js';
import type { SimulatorStats } from './request-stats.js';
import { createState, projectOfKey, resetState, statsOfProject, type SimulatorState } from './state.js';

/** Options of `createSessions`: the body of `POST /_sim/sessions` without `count`. */
export interface CreateSessionsOptions {
  userMetadata?: Record<string, unknown>;
  /** Seconds ago the sessions started (orphans for `sweep`); default 0. */
  startedAgoSeconds?: number;
  /** Default false. */
  keepAlive?: boolean;
  /** Default `RUNNING`. */
  status?: 'RUNNING' | 'PENDING';
  /** Default: the simulator's project (another value makes sessions the keys cannot see). */
  projectId?: string;
}

/** A running simulator. */
export interface SimulatorHandle {
  /** Base URL, e.g. `http://127.0.0.1:43121` (give it to the client or the SDK as `baseURL`). */
  url: string;
  port: number;
  /** Creates sessions directly (no limit, not counted); returns their ids. Throws `SimulatorInputError`. */
  createSessions(count: number, o?: CreateSessionsOptions): string[];
  /** The same object as `GET /_sim/stats`. */
  stats(): SimulatorStats;
  /** Revokes an API key until `reset()` (`POST /_sim/keys/revoke`): its requests answer 401. */
  revokeKey(apiKey: string): void;
  /** Changes some faults; validated like `POST /_sim/faults` (throws `SimulatorInputError`). */
  setFaults(f: Partial<Faults>): void;
  /** Changes the token bucket: requests per second per key (0 = no limit), bucket size (default `max(1, rate)`). */
  setRate(rate: number, burst?: number): void;
  /** A copy of a session as the simulator holds it, whatever its project. */
  getSession(id: string): Session | undefined;
  /** The call log, oldest first (empty with `logRequests: false`). */
  calls(): CallRecord[];
  /** Sessions, stats, call log, faults, rate and buckets back to how the simulator started. */
  reset(): void;
  /** Stops listening and destroys every connection, hanging ones included. Idempotent. */
  close(): Promise<void>;
}

/** Starts the Browserbase API simulator. Throws `SimulatorInputError` on bad options. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const options = resolveSimulatorOptions(opts);
  const state = createState(options);
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const loopbackOnly = isLoopbackHost(options.host);
  const server = createServer({ noDelay: true }, (req, res) => {
    dispatch(state, delay, loopbackOnly, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) sendError(res, err.statusCode, err.message, err.headers);
      else sendError(res, 500, `simulator error: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  state.baseUrl = `http://${host}:${port}`;

  return {
    url: state.baseUrl,
    port,
    createSessions: (count, o = {}) => seedSessions(state, { ...o, count }),
    stats: () => simulatorStats(state),
    revokeKey: (apiKey) => void revokeKey(state, { apiKey }),
    setFaults: (f) => updateFaults(state, f),
    setRate: (rate, burst) => updateFaults(state, burst === undefined ? { rate } : { rate, burst }),
    getSession: (id) => {
      const s = state.store.get(id);
      return s ? structuredClone(s) : undefined;
    },
    calls: () => state.callLog.list(),
    reset: () => resetState(state),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Routes a request: `/v1/...` (the API), `/_sim/...` (admin, never from a web page), anything else 404. */
async function dispatch(
  state: SimulatorState,
  delay: (ms: number) => Promise<void>,
  loopbackOnly: boolean,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const method = req.method ?? 'GET';
  if (rawUrl === '/v1' || rawUrl.startsWith('/v1/') || rawUrl.startsWith('/v1?')) {
    return handleV1(state, delay, req, res, rawUrl, method);
  }
  const { path, segments, search } = splitUrl(rawUrl);
  if (segments[0] === '_sim') {
    const refused = adminCrossSiteReason(req.headers, { loopbackOnly });
    if (refused !== undefined) {
      sendError(res, 403, `Refused: ${refused}`);
      return;
    }
    const body = method === 'POST' ? await readAdminBody(req) : undefined;
    const answer = handleAdminRequest(state, method, path, segments, search, body);
    sendJson(res, answer.status, answer.body);
    return;
  }
  sendError(res, 404, `Route ${method}:${path} not found`);
}

/** The `/v1` pipeline: count, authenticate, rate limit, inject faults, then answer. */
async function handleV1(
  state: SimulatorState,
  delay: (ms: number) => Promise<void>,
  req: IncomingMessage,
  res: ServerResponse,
  rawUrl: string,
  method: string,
): Promise<void> {
  const started = performance.now();
  const call: CallRecord = { method, path: rawUrl, status: 0, time: Date.now(), durationMs: 0 };
  const stats = state.stats;
  stats.recordArrival(started, call.time);
  let faulted = false;
  res.once('close', () => {
    const status = res.writableFinished ? res.statusCode : undefined;
    stats.recordDone(status, faulted);
    call.status = status ?? 0;
    call.durationMs = performance.now() - started;
    state.callLog.add(call);
  });

  let url: ReturnType<typeof splitUrl> | undefined;
  let urlError: HttpError | undefined;
  try {
    url = splitUrl(rawUrl);
  } catch (err) {
    urlError = err as HttpError;
  }
  const key = req.headers['x-bb-api-key'];
  const projectId = projectOfKey(state, key);
  const authenticated = projectId !== undefined;
  if (projectId !== undefined) {
    // the project's own counters: each key is limited (and each account measured) on its own
    call.project = projectId;
    const own = statsOfProject(state, projectId);
    own.recordArrival(started, call.time);
    res.once('close', () => own.recordDone(res.writableFinished ? res.statusCode : undefined, faulted));
  }
  const segs = url?.segments;
  if (method === 'POST' && segs?.length === 3 && segs[1] === 'sessions' && segs[2] !== '') stats.recordCloseCall(segs[2] ?? '', authenticated);

  if (typeof key !== 'string' || projectId === undefined) {
    sendError(res, 401, key === undefined ? 'Missing X-BB-API-Key header' : 'Invalid X-BB-API-Key');
    return;
  }
  const headers = takeToken(state, key);
  if (!headers.ok) {
    sendError(res, 429, 'Too many requests, please retry later', headers.headers);
    return;
  }
  if (urlError || !url) throw new HttpError(urlError?.statusCode ?? 400, urlError?.message ?? 'bad URL', headers.headers);

  const latency = drawLatencyMs(state.faults);
  if (latency > 0) {
    call.fault = 'latency';
    await delay(latency);
    if (res.destroyed) return;
  }
  const fault = drawFault(state.faults);
  if (fault === 'reset' || fault === 'hang') {
    faulted = true;
    call.fault = fault;
    stats.recordFault(fault);
    if (fault === 'reset') req.socket.resetAndDestroy();
    return;
  }
  if (fault !== undefined) {
    call.fault = 'error';
    sendError(res, fault, `simulated fault (HTTP ${fault})`, headers.headers);
    return;
  }

  let body: unknown;
  if (method === 'POST') {
    try {
      body = await readJsonBody(req);
    } catch (err) {
      if (err instanceof HttpError) throw new HttpError(err.statusCode, err.message, headers.headers);
      throw err;
    }
    if (body !== undefined) call.body = body;
  }
  let answer;
  try {
    answer = handleApiRequest(state, { method, path: url.path, segments: url.segments, search: url.search, body, projectId });
  } catch (err) {
    if (err instanceof HttpError) throw new HttpError(err.statusCode, err.message, headers.headers);
    throw err;
  }
  sendJson(res, answer.status, answer.body, headers.headers);
}

/** Takes a token for `key`; the rate-limit headers to send either way. */
function takeToken(state: SimulatorState, key: string): { ok: boolean; headers: Record<string, string> | undefined } {
  const buckets = state.buckets;
  if (!buckets.enabled) return { ok: true, headers: undefined };
  const t = buckets.take(key);
  const limit = String(buckets.ratePerSecond);
  if (t.ok) return { ok: true, headers: { 'x-ratelimit-limit': limit, 'x-ratelimit-remaining': String(t.remaining) } };
  const headers: Record<string, string> = {
    'retry-after': String(Math.max(1, Math.ceil(t.waitMs / 1000))),
    'x-ratelimit-limit': limit,
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': (Math.ceil(t.waitMs) / 1000).toFixed(3),
  };
  if (state.options.retryAfterMsHeader) headers['retry-after-ms'] = String(Math.ceil(t.waitMs));
  return { ok: false, headers };
}
