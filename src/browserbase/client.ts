import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../config/resolve.js';
import { checkApiWith } from './check-api.js';
import { closeSessionWith } from './close-session.js';
import { createTransport, type ResponseObserver } from './http.js';
import { RESPONSE_SHAPES } from './responses.js';
import { BrowserbaseError } from './errors.js';
import { assertSessionId, encodeSessionId, previewSessionId, validateSessionId } from './session-id.js';
import type { BrowserbaseClient, CreateSessionParams, ListSessionsParams, RequestOptions } from './types.js';

/** Defaults of {@link BrowserbaseClientOptions}. */
export const CLIENT_DEFAULTS = {
  baseUrl: 'https://api.browserbase.com',
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  connections: 128,
  userAgent: 'bb-reaper/0.1.0',
} as const;

export interface BrowserbaseClientOptions {
  /** Browserbase API key, sent as `X-BB-API-Key`. Required. Never appears in errors or logs. */
  apiKey: string;
  /** API base URL; point it at the simulator in tests. Default `https://api.browserbase.com`. */
  baseUrl?: string;
  /** Sent as `projectId` with closes and creates, only when set. Default: unset (inferred from the key). */
  projectId?: string;
  /** Time allowed to open a TCP/TLS connection, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Time allowed from sending a request to receiving the response headers, in ms. Default 30 000. */
  headersTimeoutMs?: number;
  /** Longest pause while receiving a response body, in ms. Default 30 000. */
  bodyTimeoutMs?: number;
  /** Size of the keep-alive connection pool to the API origin (sockets). Default 128. */
  connections?: number;
  /** `User-Agent` header. Default `bb-reaper/0.1.0`. */
  userAgent?: string;
  /**
   * Called once per HTTP request the client makes (closes, their follow-up GETs, verify polls),
   * with the status or `'error'` and the duration in ms: the hook for metrics. Default: none.
   */
  onResponse?: ResponseObserver;
}

const positiveMs = z.number().int('expected an integer number of ms').min(1, 'expected at least 1 ms').max(3_600_000, 'expected at most 3 600 000 ms');
const optionsSchema = z.object({
  apiKey: z
    .string({ error: 'expected a non-empty string' })
    .min(1, 'expected a non-empty string')
    .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces (it is sent as a header)'),
  baseUrl: z
    .string()
    .refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol), 'expected an http:// or https:// URL')
    .default(CLIENT_DEFAULTS.baseUrl),
  projectId: z.string().min(1, 'expected a non-empty string').max(256).optional(),
  connectTimeoutMs: positiveMs.default(CLIENT_DEFAULTS.connectTimeoutMs),
  headersTimeoutMs: positiveMs.default(CLIENT_DEFAULTS.headersTimeoutMs),
  bodyTimeoutMs: positiveMs.default(CLIENT_DEFAULTS.bodyTimeoutMs),
  onResponse: z.custom<ResponseObserver>((v) => v === undefined || typeof v === 'function', 'expected a function').optional(),
  connections: z.number().int('expected an integer').min(1, 'expected at least 1').max(10_000, 'expected at most 10 000').default(CLIENT_DEFAULTS.connections),
  userAgent: z.string().regex(/^[\x20-\x7e]+$/, 'expected printable ASCII').default(CLIENT_DEFAULTS.userAgent),
});

/** Validates the options, reporting every bad one at once (the API key's value is masked). */
function parseOptions(options: BrowserbaseClientOptions): z.output<typeof optionsSchema> {
  const r = optionsSchema.safeParse(options ?? {});
  if (r.success) return r.data;
  const firstPerField = r.error.issues.filter((i, n, all) => all.findIndex((j) => j.path[0] === i.path[0]) === n);
  const issues: ConfigIssue[] = firstPerField.map((i) => {
    const field = String(i.path[0] ?? 'options');
    const value = (options as unknown as Record<string, unknown> | undefined)?.[field];
    return {
      field,
      source: 'createBrowserbaseClient options',
      value: field === 'apiKey' && typeof value === 'string' && value !== '' ? '`***`' : typeof value === 'string' ? `\`${value}\`` : String(value),
      message: i.message,
    };
  });
  throw new ConfigError(issues);
}

/**
 * The typed Browserbase client: the six actions, session logs, projects (and `checkApi`) on one keep-alive undici pool. It never retries
 * (the worker owns retry policy; one-shot callers wrap calls in `withRetries`). Every failure is a
 * `BrowserbaseError` with a stable `code`; invalid session ids are rejected before any request.
 */
export function createBrowserbaseClient(options: BrowserbaseClientOptions): BrowserbaseClient {
  const o = parseOptions(options);
  const baseUrl = new URL(o.baseUrl);
  const transport = createTransport({ ...o, baseUrl });
  const deps = { transport, projectId: o.projectId };

  const sessionPath = (id: string, suffix = ''): string => {
    assertSessionId(id);
    return `/v1/sessions/${encodeSessionId(id)}${suffix}`;
  };
  const projectPath = (id: string, suffix = ''): string => {
    // A project id is an opaque token like a session id: the same rule keeps it one path segment.
    const reason = validateSessionId(id);
    if (reason !== undefined) throw new BrowserbaseError('INVALID_SESSION_ID', `Invalid project id ${previewSessionId(id)}: ${reason}`);
    return `/v1/projects/${encodeSessionId(id)}${suffix}`;
  };
  const req = (opts: RequestOptions | undefined): RequestOptions => ({
    signal: opts?.signal,
    headersTimeoutMs: opts?.headersTimeoutMs,
    bodyTimeoutMs: opts?.bodyTimeoutMs,
  });

  return {
    closeSession: (id, opts) => closeSessionWith(deps, id, opts),

    async getSession(id, opts) {
      const { data } = await transport.send({ method: 'GET', path: sessionPath(id), shape: RESPONSE_SHAPES.session, ...req(opts) });
      return data;
    },

    async listSessions(params: ListSessionsParams = {}, opts) {
      const query = new URLSearchParams();
      if (params.status !== undefined) query.set('status', params.status);
      if (params.q !== undefined) query.set('q', params.q);
      const qs = query.toString();
      const path = qs ? `/v1/sessions?${qs}` : '/v1/sessions';
      const { data } = await transport.send({ method: 'GET', path, shape: RESPONSE_SHAPES.sessionList, ...req(opts) });
      return data;
    },

    async createSession(params: CreateSessionParams = {}, opts) {
      const body = o.projectId !== undefined && params.projectId === undefined ? { ...params, projectId: o.projectId } : params;
      const { data } = await transport.send({ method: 'POST', path: '/v1/sessions', body, shape: RESPONSE_SHAPES.session, ...req(opts) });
      return data;
    },

    async getDebugUrls(id, opts) {
      const { data } = await transport.send({ method: 'GET', path: sessionPath(id, '/debug'), shape: RESPONSE_SHAPES.liveUrls, ...req(opts) });
      return data;
    },

    async getRecording(id, opts) {
      const { data } = await transport.send({ method: 'GET', path: sessionPath(id, '/recording'), shape: RESPONSE_SHAPES.recording, ...req(opts) });
      return data;
    },

    async getSessionLogs(id, opts) {
      const { data } = await transport.send({ method: 'GET', path: sessionPath(id, '/logs'), shape: RESPONSE_SHAPES.sessionLogs, ...req(opts) });
      return data;
    },

    async listProjects(opts) {
      const { data } = await transport.send({ method: 'GET', path: '/v1/projects', shape: RESPONSE_SHAPES.projectList, ...req(opts) });
      return data;
    },

    async getProject(id, opts) {
      const { data } = await transport.send({ method: 'GET', path: projectPath(id), shape: RESPONSE_SHAPES.project, ...req(opts) });
      return data;
    },

    async getProjectUsage(id, opts) {
      const { data } = await transport.send({ method: 'GET', path: projectPath(id, '/usage'), shape: RESPONSE_SHAPES.projectUsage, ...req(opts) });
      return data;
    },

    checkApi: (opts) => checkApiWith(transport, baseUrl, req(opts)),

    close: () => transport.close(),
  };
}
