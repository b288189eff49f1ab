import { SESSION_STATUSES, type Session, type SessionStatus } from '../browserbase/types.js';
import { statsOfProject, type SimulatorState } from './state.js';
import { errorBody, HttpError } from './http-io.js';
import { MetadataQueryError, parseMetadataQuery, type MetadataQuery } from './metadata-query.js';
import { describeProject, measureUsage } from './projects.js';
import { createBodySchema } from './request-bodies.js';
import { buildConnectInfo, buildDebugUrls, buildRecording, buildSessionLogs } from './session-extras.js';
import { formatIssues, toFieldIssues } from './validation.js';

/** A `/v1` request that passed authentication, the rate limit and the faults. */
export interface ApiRequest {
  method: string;
  /** Path without the query, as received. */
  path: string;
  /** Decoded segments, starting with `v1`. */
  segments: string[];
  search: string;
  body: unknown;
  /** Project of the API key. */
  projectId: string;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

export { MAX_USER_METADATA_CHARS } from './request-bodies.js';

const notFound = (id: string): HttpError => new HttpError(404, `Session ${id} not found`);

/** Answers one `/v1` request from the simulator's state. */
export function handleApiRequest(state: SimulatorState, req: ApiRequest): ApiAnswer {
  const [, resource, id, sub, ...rest] = req.segments;
  if (resource === 'sessions' && rest.length === 0) {
    if (id === undefined) {
      if (req.method === 'GET') return listSessions(state, req);
      if (req.method === 'POST') return createSession(state, req);
    } else if (id !== '' && sub === undefined) {
      if (req.method === 'GET') return { status: 200, body: withConnect(state, findSession(state, req, id)) };
      if (req.method === 'POST') return closeSession(state, req, id);
    } else if (id !== '' && req.method === 'GET' && sub === 'debug') {
      return { status: 200, body: buildDebugUrls(findSession(state, req, id), state.baseUrl) };
    } else if (id !== '' && req.method === 'GET' && sub === 'recording') {
      return { status: 200, body: buildRecording(findSession(state, req, id)) };
    } else if (id !== '' && req.method === 'GET' && sub === 'logs') {
      return { status: 200, body: buildSessionLogs(findSession(state, req, id)) };
    }
  }
  if (resource === 'projects' && req.method === 'GET' && rest.length === 0) {
    if (id === undefined) return { status: 200, body: [describeProject(state, req.projectId)] };
    if (id !== '' && (sub === undefined || sub === 'usage')) {
      if (id !== req.projectId) throw new HttpError(404, `Project ${id} not found`);
      return { status: 200, body: sub === 'usage' ? measureUsage(state, id) : describeProject(state, id) };
    }
  }
  return { status: 404, body: errorBody(404, `Route ${req.method}:${req.path} not found`) };
}

function findSession(state: SimulatorState, req: ApiRequest, id: string): Session {
  const s = state.store.get(id);
  if (!s || s.projectId !== req.projectId) throw notFound(id);
  return s;
}

function withConnect(state: SimulatorState, s: Session): Session {
  if (s.status !== 'RUNNING' && s.status !== 'PENDING') return s;
  return { ...s, ...buildConnectInfo(s, state.baseUrl) };
}

function closeSession(state: SimulatorState, req: ApiRequest, id: string): ApiAnswer {
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'body must be a JSON object {"status": "REQUEST_RELEASE"}');
  }
  const { status, projectId } = body as Record<string, unknown>;
  if (status !== 'REQUEST_RELEASE') {
    throw new HttpError(400, `body/status must be equal to "REQUEST_RELEASE", got ${JSON.stringify(status) ?? 'nothing'}`);
  }
  if (projectId !== undefined && typeof projectId !== 'string') {
    throw new HttpError(400, `body/projectId must be a string, got ${JSON.stringify(projectId)}`);
  }
  const { stats, store } = state;
  const current = store.get(id);
  if (!current || current.projectId !== req.projectId || (projectId !== undefined && projectId !== req.projectId)) {
    stats.closesNotFound += 1;
    statsOfProject(state, req.projectId).closesNotFound += 1;
    throw notFound(id);
  }
  const outcome = store.release(id);
  if (!outcome) throw notFound(id);
  if (outcome.kind === 'terminal') {
    stats.closesAlreadyFinished += 1;
    const answer = state.faults.closeFinished;
    if (answer === '200') return { status: 200, body: outcome.session };
    const code = Number(answer);
    return { status: code, body: errorBody(code, `Session ${id} has already ended (status ${outcome.session.status})`) };
  }
  stats.released += 1;
  if (outcome.releaseCount === 2) stats.releasedMoreThanOnce += 1;
  statsOfProject(state, req.projectId).released += 1;
  return { status: 200, body: outcome.session };
}

function listSessions(state: SimulatorState, req: ApiRequest): ApiAnswer {
  const params = new URLSearchParams(req.search);
  const status = params.get('status') ?? undefined;
  if (status !== undefined && !(SESSION_STATUSES as readonly string[]).includes(status)) {
    throw new HttpError(400, `querystring/status must be one of ${SESSION_STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
  }
  const q = params.get('q') ?? undefined;
  let query: MetadataQuery | undefined;
  if (q !== undefined && q !== '') {
    try {
      query = parseMetadataQuery(q);
    } catch (err) {
      if (err instanceof MetadataQueryError) throw new HttpError(400, err.message);
      throw err;
    }
  }
  return { status: 200, body: state.store.list(req.projectId, status as SessionStatus | undefined, query) };
}

function createSession(state: SimulatorState, req: ApiRequest): ApiAnswer {
  const input = req.body ?? {};
  const parsed = createBodySchema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, formatIssues(toFieldIssues(parsed.error, input)));
  const p = parsed.data;
  if (p.projectId !== undefined && p.projectId !== req.projectId) {
    throw new HttpError(404, `Project ${p.projectId} not found`);
  }
  const limit = state.options.concurrencyLimit;
  const active = state.store.activeCount(req.projectId);
  if (active >= limit) {
    throw new HttpError(429, `You've exceeded your max concurrent sessions limit (limit ${limit}, currently ${active})`);
  }
  const session = state.store.add({
    projectId: req.projectId,
    keepAlive: p.keepAlive,
    region: p.region,
    userMetadata: p.userMetadata,
    contextId: p.browserSettings?.context?.id,
    timeoutSeconds: p.timeout,
  });
  return { status: 201, body: { ...session, ...buildConnectInfo(session, state.baseUrl) } };
}
