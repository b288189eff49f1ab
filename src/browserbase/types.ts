/**
 * Types of the Browserbase REST API v1 as bb-reaper uses it. Responses are typed with the fields
 * we read and tolerate any others (`[key: string]: unknown`).
 */

export const SESSION_STATUSES = ['PENDING', 'RUNNING', 'ERROR', 'TIMED_OUT', 'COMPLETED'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
/** `PENDING` and `RUNNING` are active; `ERROR`, `TIMED_OUT` and `COMPLETED` are terminal. */
export const ACTIVE_STATUSES: readonly SessionStatus[] = ['PENDING', 'RUNNING'];
/** The statuses of a session that has ended. */
export const TERMINAL_STATUSES: readonly SessionStatus[] = ['ERROR', 'TIMED_OUT', 'COMPLETED'];
/**
 * True only for a documented terminal status. An unknown status (a future one, or a stand-in
 * server's answer) is not taken as "ended": a close is never reported done on a guess.
 */
export const isTerminalStatus = (s: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(s);

export const REGIONS = ['us-west-2', 'us-east-1', 'eu-central-1', 'ap-southeast-1'] as const;
export type Region = (typeof REGIONS)[number];

export interface Session {
  id: string;
  createdAt: string;
  updatedAt: string;
  projectId: string;
  startedAt: string;
  expiresAt: string;
  endedAt?: string;
  status: SessionStatus;
  proxyBytes: number;
  keepAlive: boolean;
  region: Region;
  contextId?: string;
  userMetadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Get/Create answers also carry connection details. */
export interface SessionWithConnect extends Session {
  connectUrl?: string;
  seleniumRemoteUrl?: string;
  signingKey?: string;
}

export interface SessionLiveUrls {
  debuggerFullscreenUrl: string;
  debuggerUrl: string;
  wsUrl: string;
  pages: Array<{ id: string; url: string; faviconUrl: string; title: string; debuggerUrl: string; debuggerFullscreenUrl: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface RecordingEvent {
  data: unknown;
  sessionId: string;
  timestamp: number;
  type: number;
  [key: string]: unknown;
}

/** A proxy of Browserbase's own network, optionally pinned to a place (ISO 3166-1 alpha-2 `country`). */
export interface BrowserbaseProxyConfig {
  type: 'browserbase';
  geolocation?: { country: string; state?: string; city?: string };
  /** Only for these domains; default all. */
  domainPattern?: string;
  [key: string]: unknown;
}

/** Your own proxy server. */
export interface ExternalProxyConfig {
  type: 'external';
  server: string;
  domainPattern?: string;
  username?: string;
  password?: string;
  [key: string]: unknown;
}

/** No proxy for the matching domains. */
export interface NoneProxyConfig {
  type: 'none';
  domainPattern?: string;
  [key: string]: unknown;
}

export type ProxyConfig = BrowserbaseProxyConfig | ExternalProxyConfig | NoneProxyConfig;

/** Create's `browserSettings`, as the OpenAPI document declares it. */
export interface BrowserSettings {
  /** Reuse a saved context (cookies, storage: an auth profile); `persist` saves changes back. Default `persist: false`. */
  context?: { id: string; persist?: boolean };
  extensionId?: string;
  /** Browser window size in pixels. */
  viewport?: { width?: number; height?: number };
  /** Default false. */
  blockAds?: boolean;
  /** Default true. */
  solveCaptchas?: boolean;
  /** Default true. */
  recordSession?: boolean;
  /** Default true. */
  logSession?: boolean;
  advancedStealth?: boolean;
  verified?: boolean;
  captchaImageSelector?: string;
  captchaInputSelector?: string;
  os?: 'windows' | 'mac' | 'linux' | 'mobile' | 'tablet';
  /** Top-level navigations limited to these domains (and subdomains); default none (no limit). */
  allowedDomains?: string[];
  /** Default true. */
  ignoreCertificateErrors?: boolean;
  [key: string]: unknown;
}

export interface CreateSessionParams {
  projectId?: string;
  /** An uploaded extension to load. */
  extensionId?: string;
  /** Seconds, 60..21600. Default: the project's `defaultTimeout`. */
  timeout?: number;
  keepAlive?: boolean;
  region?: Region;
  userMetadata?: Record<string, unknown>;
  browserSettings?: BrowserSettings;
  /** `true` for Browserbase's default proxy, or a list of proxy configs. */
  proxies?: boolean | ProxyConfig[];
  [key: string]: unknown;
}

/** `GET /v1/projects` and `/v1/projects/{id}`. */
export interface Project {
  id: string;
  createdAt: string;
  updatedAt: string;
  name: string;
  ownerId: string;
  /** Seconds a session runs when Create gives no `timeout` (60..21600). */
  defaultTimeout: number;
  /** Sessions the project can run at once. */
  concurrency: number;
  [key: string]: unknown;
}

/** `GET /v1/projects/{id}/usage`. */
export interface ProjectUsage {
  browserMinutes: number;
  proxyBytes: number;
  [key: string]: unknown;
}

/** One entry of `GET /v1/sessions/{id}/logs`: a CDP call of the session's browser (timestamps in epoch ms). */
export interface SessionLog {
  method: string;
  pageId: number;
  sessionId: string;
  timestamp?: number;
  frameId?: string;
  loaderId?: string;
  request?: { timestamp?: number; params: Record<string, unknown>; rawBody: string };
  response?: { timestamp?: number; result: Record<string, unknown>; rawBody: string };
  [key: string]: unknown;
}

export interface ListSessionsParams {
  status?: SessionStatus;
  /** `user_metadata['key']['nested']:'value'` */
  q?: string;
}

/**
 * How a close ended:
 * - `closed`: the API accepted the release (200);
 * - `already_gone`: Browserbase's own 404 (its JSON error body), or a 4xx whose follow-up GET
 *   shows a terminal status or Browserbase's 404;
 * - `verified`: released and confirmed terminal by polling GET (`verify: true`).
 */
export type CloseOutcome = 'closed' | 'already_gone' | 'verified';

/** The seed's result shape `{id, status}` plus how the close ended. */
export interface CloseResult {
  id: string;
  /** Session status from the API's last answer (may still be `RUNNING` right after release). */
  status: SessionStatus | string;
  outcome: CloseOutcome;
  /** HTTP status of the close request. */
  httpStatus: number;
  /**
   * The session's scheduled end (`expiresAt` of the release answer), when the session was still
   * running until this release: it would have been billed until then. Absent otherwise (already
   * gone, ended before, or no `expiresAt` in the answer).
   */
  expiresAt?: string;
}

export interface RequestOptions {
  /** Cancels the request; the error has code `ABORTED`. */
  signal?: AbortSignal;
  /** Overrides the client's `headersTimeoutMs` for this request (ms until response headers). */
  headersTimeoutMs?: number;
  /** Overrides the client's `bodyTimeoutMs` for this request (ms of body inactivity). */
  bodyTimeoutMs?: number;
}

export interface CloseOptions extends RequestOptions {
  /** Poll GET (with backoff, bounded) until the session is terminal. Default false. */
  verify?: boolean;
  /** Upper bound of verification polling in ms. Default 10 000. */
  verifyTimeoutMs?: number;
  /** Overrides the client's `projectId` for this close (sent as `projectId` when set). */
  projectId?: string;
}

/** The typed Browserbase client: the seed's six actions, session logs and projects. */
export interface BrowserbaseClient {
  closeSession(id: string, opts?: CloseOptions): Promise<CloseResult>;
  getSession(id: string, opts?: RequestOptions): Promise<SessionWithConnect>;
  listSessions(params?: ListSessionsParams, opts?: RequestOptions): Promise<Session[]>;
  createSession(params?: CreateSessionParams, opts?: RequestOptions): Promise<SessionWithConnect>;
  getDebugUrls(id: string, opts?: RequestOptions): Promise<SessionLiveUrls>;
  getRecording(id: string, opts?: RequestOptions): Promise<RecordingEvent[]>;
  /** The CDP log of a session, oldest first. */
  getSessionLogs(id: string, opts?: RequestOptions): Promise<SessionLog[]>;
  /** The projects of the API key. */
  listProjects(opts?: RequestOptions): Promise<Project[]>;
  /** One project; an invalid id is `INVALID_SESSION_ID` (the id rule is the session ids' one), no request made. */
  getProject(id: string, opts?: RequestOptions): Promise<Project>;
  /** A project's usage: browser minutes and proxy bytes. */
  getProjectUsage(id: string, opts?: RequestOptions): Promise<ProjectUsage>;
  /**
   * Checks once that the base URL answers like the Browserbase API for this key: `GET
   * /v1/sessions/<random uuid>` must answer Browserbase's own 404. Throws `REJECTED` with one
   * clear sentence when the key is refused or the answer is not the API's; throws `TRANSIENT` /
   * `RATE_LIMITED` / `ABORTED` when no verdict was possible (retry later).
   */
  checkApi(opts?: RequestOptions): Promise<void>;
  /** Closes the keep-alive pool. */
  close(): Promise<void>;
}
