import { randomUUID } from 'node:crypto';
import Browserbase from '@browserbasehq/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrowserbaseError, createBrowserbaseClient, parseRetryAfter, REGIONS, type SessionStatus } from '../../src/browserbase/index.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';
import { answerProblems } from './openapi-document.js';

// The contract: the official SDK and bb-reaper's client, pointed at the simulator, pass the same
// assertions. It proves both that our client speaks the real API and that the simulator answers
// the way the real SDK expects.

const API_KEY = 'sim-key';
type Json = Record<string, unknown>;

/** What an API error looked like, however the client surfaces it. */
interface ApiErrorView {
  status: number | undefined;
  message: string | undefined;
  retryAfterMs: number | undefined;
}

/** The six actions, through one client, in one shape. */
interface ContractClient {
  create(params?: { userMetadata?: Json; keepAlive?: boolean }): Promise<Json>;
  retrieve(id: string): Promise<Json>;
  release(id: string): Promise<{ httpStatus: number; status: string }>;
  list(params?: { status?: SessionStatus; q?: string }): Promise<Json[]>;
  debug(id: string): Promise<Json>;
  recording(id: string): Promise<unknown[]>;
  errorOf(err: unknown): ApiErrorView;
  close(): Promise<void>;
}

function sdkClient(baseURL: string, apiKey: string): ContractClient {
  const bb = new Browserbase({ apiKey, baseURL, maxRetries: 0 });
  return {
    create: async (p = {}) => (await bb.sessions.create(p)) as unknown as Json,
    retrieve: async (id) => (await bb.sessions.retrieve(id)) as unknown as Json,
    async release(id) {
      const { data, response } = await bb.sessions.update(id, { status: 'REQUEST_RELEASE' }).withResponse();
      return { httpStatus: response.status, status: data.status };
    },
    list: async (p = {}) => (await bb.sessions.list(p)) as unknown as Json[],
    debug: async (id) => (await bb.sessions.debug(id)) as unknown as Json,
    recording: async (id) => (await bb.sessions.recording.retrieve(id)) as unknown[],
    errorOf(err) {
      if (!(err instanceof Browserbase.APIError)) throw err;
      const body = err.error as { message?: string } | undefined;
      return { status: err.status, message: body?.message, retryAfterMs: parseRetryAfter((err.headers ?? {}) as Record<string, string>, Date.now()) };
    },
    close: async () => {},
  };
}

function ourClient(baseUrl: string, apiKey: string): ContractClient {
  const c = createBrowserbaseClient({ apiKey, baseUrl });
  return {
    create: (p) => c.createSession(p),
    retrieve: (id) => c.getSession(id),
    async release(id) {
      const r = await c.closeSession(id);
      return { httpStatus: r.httpStatus, status: r.status };
    },
    list: (p) => c.listSessions(p),
    debug: (id) => c.getDebugUrls(id),
    recording: (id) => c.getRecording(id),
    errorOf(err) {
      if (!(err instanceof BrowserbaseError)) throw err;
      return { status: err.statusCode, message: err.serverMessage, retryAfterMs: err.retryAfterMs };
    },
    close: () => c.close(),
  };
}

async function rejection(api: ContractClient, p: Promise<unknown>): Promise<ApiErrorView> {
  try {
    await p;
  } catch (err) {
    return api.errorOf(err);
  }
  throw new Error('expected the call to fail');
}

async function waitFor<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached within 10 s; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe.each([
  ['@browserbasehq/sdk', sdkClient],
  ['bb-reaper client', ourClient],
] as const)('%s against the simulator', (_name, makeClient) => {
  let sim: SimulatorHandle;
  let api: ContractClient;
  const extra: ContractClient[] = [];

  beforeEach(async () => {
    sim = track(await startSimulator({ apiKeys: [API_KEY], releaseDelayMs: 100 }), 'simulator');
    api = track(makeClient(sim.url, API_KEY), 'contract client');
  });
  afterEach(async () => {
    for (const c of extra.splice(0)) await c.close();
    await api.close();
    await sim.close();
  });

  it('create answers 201 with a full session and connection details', async () => {
    const s = await api.create({ userMetadata: { team: 'contract' }, keepAlive: true });
    expect(s).toMatchObject({ status: 'RUNNING', projectId: 'sim-project', keepAlive: true, userMetadata: { team: 'contract' }, proxyBytes: 0 });
    for (const f of ['id', 'connectUrl', 'seleniumRemoteUrl', 'signingKey']) expect(typeof s[f], f).toBe('string');
    for (const f of ['createdAt', 'updatedAt', 'startedAt', 'expiresAt']) expect(s[f], f).toMatch(ISO_DATE);
    expect(REGIONS).toContain(s.region);
    expect(String(s.connectUrl)).toMatch(/^wss?:\/\//);
    const calls = await waitFor('the create in the call log', () => sim.calls(), (c) => c.some((x) => x.method === 'POST' && x.path === '/v1/sessions'));
    expect(calls.find((x) => x.path === '/v1/sessions')?.status).toBe(201);
  });

  it('retrieve returns the session', async () => {
    const [id] = sim.createSessions(1, { userMetadata: { k: 'v' } });
    const s = await api.retrieve(id!);
    expect(s).toMatchObject({ id, status: 'RUNNING', userMetadata: { k: 'v' }, projectId: 'sim-project' });
  });

  it('list filters by status and by q on user metadata (nested paths too)', async () => {
    const tag = `t-${randomUUID()}`;
    const tagged = sim.createSessions(3, { userMetadata: { team: tag, nested: { k: 'v' } } });
    sim.createSessions(2, { userMetadata: { team: 'other' } });
    const pending = sim.createSessions(1, { status: 'PENDING', userMetadata: { team: tag } });
    const byTag = await api.list({ q: `user_metadata['team']:'${tag}'` });
    expect(byTag.map((s) => s.id).sort()).toEqual([...tagged, ...pending].sort());
    const running = await api.list({ status: 'RUNNING', q: `user_metadata['team']:'${tag}'` });
    expect(running.map((s) => s.id).sort()).toEqual([...tagged].sort());
    const nested = await api.list({ q: "user_metadata['nested']['k']:'v'" });
    expect(nested.map((s) => s.id).sort()).toEqual([...tagged].sort());
    expect((await api.list({ status: 'RUNNING' })).length).toBe(5);
    expect(await api.list({ status: 'COMPLETED' })).toEqual([]);
  });

  it('debug answers the live URLs shape', async () => {
    const [id] = sim.createSessions(1);
    const d = await api.debug(id!);
    for (const f of ['debuggerFullscreenUrl', 'debuggerUrl', 'wsUrl']) expect(typeof d[f], f).toBe('string');
    expect(Array.isArray(d.pages)).toBe(true);
    for (const p of d.pages as Json[]) expect(p).toMatchObject({ id: expect.any(String), url: expect.any(String), debuggerUrl: expect.any(String) });
  });

  it('recording answers an array of rrweb events', async () => {
    const [id] = sim.createSessions(1);
    const events = await api.recording(id!);
    expect(Array.isArray(events)).toBe(true);
    for (const e of events) expect(e).toMatchObject({ sessionId: id, timestamp: expect.any(Number), type: expect.any(Number) });
  });

  it('close: 200 while still RUNNING, then COMPLETED with endedAt; closing again is 200 too', async () => {
    const [id] = sim.createSessions(1);
    expect(await api.release(id!)).toEqual({ httpStatus: 200, status: 'RUNNING' });
    const done = await waitFor('COMPLETED', () => api.retrieve(id!), (s) => s.status === 'COMPLETED');
    expect(done.endedAt).toMatch(ISO_DATE);
    expect(await api.release(id!)).toEqual({ httpStatus: 200, status: 'COMPLETED' });
  });

  it('a bad API key is 401', async () => {
    const bad = makeClient(sim.url, 'not-the-key');
    extra.push(bad);
    const e = await rejection(bad, bad.retrieve('anything'));
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/X-BB-API-Key/);
  });

  it('an unknown id is 404', async () => {
    const e = await rejection(api, api.retrieve(randomUUID()));
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/not found/i);
  });

  it('an empty token bucket answers 429 with a delay', async () => {
    const [id] = sim.createSessions(1);
    sim.setRate(0.05, 1);
    let e: ApiErrorView | undefined;
    for (let i = 0; i < 5 && !e; i++) {
      await api.retrieve(id!).catch((err: unknown) => {
        e = api.errorOf(err);
      });
    }
    expect(e).toMatchObject({ status: 429, message: expect.stringMatching(/too many requests/i) });
    expect(e!.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(e!.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  it('create beyond the concurrency limit is 429 with the documented message', async () => {
    sim.createSessions(25);
    const e = await rejection(api, api.create());
    expect(e.status).toBe(429);
    expect(e.message).toBe("You've exceeded your max concurrent sessions limit (limit 25, currently 25)");
  });
});

describe('429 headers as the official SDK sees them', () => {
  it('carries retry-after and x-ratelimit-limit/remaining/reset', async () => {
    const sim = track(await startSimulator({ apiKeys: [API_KEY], rate: 0.05, burst: 1 }), 'simulator');
    const bb = new Browserbase({ apiKey: API_KEY, baseURL: sim.url, maxRetries: 0 });
    const [id] = sim.createSessions(1);
    let caught: InstanceType<typeof Browserbase.APIError> | undefined;
    for (let i = 0; i < 5 && !caught; i++) {
      await bb.sessions.retrieve(id!).catch((err: unknown) => {
        if (err instanceof Browserbase.APIError) caught = err;
        else throw err;
      });
    }
    expect(caught?.status).toBe(429);
    const h = (caught?.headers ?? {}) as Record<string, string>;
    expect(Number(h['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(h['x-ratelimit-limit']).toBe('0.05');
    expect(h['x-ratelimit-remaining']).toBe('0');
    expect(Number(h['x-ratelimit-reset'])).toBeGreaterThan(0);
    await sim.close();
  });
});

describe('the 404 rule as both clients see it', () => {
  it("an unknown id's 404 has Browserbase's documented error body, which our client alone takes as NOT_FOUND", async () => {
    const sim = track(await startSimulator({ apiKeys: [API_KEY] }), 'simulator');
    const bb = new Browserbase({ apiKey: API_KEY, baseURL: sim.url, maxRetries: 0 });
    const id = randomUUID();
    const sdkErr = await bb.sessions.retrieve(id).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(sdkErr).toBeInstanceOf(Browserbase.APIError);
    expect((sdkErr as InstanceType<typeof Browserbase.APIError>).error).toEqual({ statusCode: 404, error: 'Not Found', message: `Session ${id} not found` });
    const ours = createBrowserbaseClient({ apiKey: API_KEY, baseUrl: sim.url });
    const err = await ours.getSession(id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'NOT_FOUND', statusCode: 404, serverMessage: `Session ${id} not found` });
    expect(await ours.closeSession(id)).toMatchObject({ outcome: 'already_gone', httpStatus: 404 });
    await ours.checkApi();
    await ours.close();
    await sim.close();
  });
});

describe("the official SDK's project and session-log calls against the simulator", () => {
  it('projects.list / retrieve / usage and sessions.logs.list run unmodified and return what the document declares', async () => {
    const sim = track(await startSimulator({ apiKeys: [API_KEY], projectId: 'sdk-project', concurrencyLimit: 3, releaseDelayMs: 0 }), 'simulator');
    const bb = new Browserbase({ apiKey: API_KEY, baseURL: sim.url, maxRetries: 0 });

    const projects = await bb.projects.list();
    expect(answerProblems('GET', '/v1/projects', 200, projects)).toEqual([]);
    expect(projects).toEqual([expect.objectContaining({ id: 'sdk-project', concurrency: 3, defaultTimeout: 3600, name: expect.any(String), ownerId: expect.any(String) })]);
    const project = await bb.projects.retrieve('sdk-project');
    expect(answerProblems('GET', '/v1/projects/{id}', 200, project)).toEqual([]);
    expect(project).toEqual(projects[0]);

    const created = await bb.sessions.create();
    const [older] = sim.createSessions(1, { startedAgoSeconds: 90 });
    const logs = await bb.sessions.logs.list(created.id);
    expect(answerProblems('GET', '/v1/sessions/{id}/logs', 200, logs)).toEqual([]);
    expect(logs.map((e) => e.method)).toEqual(['Target.createTarget', 'Page.navigate']);
    expect(logs.every((e) => e.sessionId === created.id)).toBe(true);
    await bb.sessions.update(created.id, { status: 'REQUEST_RELEASE' });
    expect((await bb.sessions.logs.list(created.id)).map((e) => e.method).at(-1)).toBe('Browser.close');

    const usage = await bb.projects.usage('sdk-project');
    expect(answerProblems('GET', '/v1/projects/{id}/usage', 200, usage)).toEqual([]);
    expect(usage).toEqual({ browserMinutes: 1 + 2, proxyBytes: 0 }); // created: under a minute; older: 90 s and counting
    expect(sim.getSession(older!)?.status).toBe('RUNNING');

    for (const p of [bb.projects.retrieve('another-project'), bb.projects.usage('another-project'), bb.sessions.logs.list(randomUUID())]) {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Browserbase.NotFoundError);
      expect(answerProblems('GET', '/v1/projects/{id}', 404, (err as InstanceType<typeof Browserbase.APIError>).error)).toEqual([]);
    }
    const paths = sim.calls().map((c) => `${c.method} ${c.path} ${c.status}`);
    expect(paths.slice(0, 3)).toEqual(['GET /v1/projects 200', 'GET /v1/projects/sdk-project 200', 'POST /v1/sessions 201']);
    await sim.close();
  });
});
