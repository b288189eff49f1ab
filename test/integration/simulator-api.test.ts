import { describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';
import { waitFor as waitForState } from '../helpers/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function start(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  return track(await startSimulator(opts), 'simulator');
}

interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(
  sim: SimulatorHandle,
  method: string,
  path: string,
  o: { body?: unknown; raw?: string; key?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.key !== null) headers['x-bb-api-key'] = o.key ?? 'sim-key';
  let payload: string | undefined = o.raw;
  if (o.body !== undefined) {
    payload = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(sim.url + path, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const close = (sim: SimulatorHandle, id: string, body: unknown = { status: 'REQUEST_RELEASE' }) =>
  call(sim, 'POST', `/v1/sessions/${encodeURIComponent(id)}`, { body });

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function expectErrorBody(a: Answer, status: number, label = ''): void {
  expect(a.status, label).toBe(status);
  expect(a.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String) });
  expect(a.headers.get('content-type')).toMatch(/^application\/json/);
}

describe('simulator: session lifecycle', () => {
  it('close answers 200 still RUNNING, then the session turns COMPLETED with endedAt', async () => {
    const sim = await start({ releaseDelayMs: 150 });
    const [id] = sim.createSessions(1);
    const got = await call(sim, 'GET', `/v1/sessions/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toMatch(UUID);
    for (const f of ['createdAt', 'updatedAt', 'startedAt', 'expiresAt']) expect(Number.isNaN(Date.parse(got.body[f]))).toBe(false);
    expect(got.body).toMatchObject({ id, projectId: 'sim-project', status: 'RUNNING', proxyBytes: 0, keepAlive: false, region: 'us-west-2' });
    expect(got.body.endedAt).toBeUndefined();

    const closed = await close(sim, id!);
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ id, status: 'RUNNING' });
    const done = await waitFor(async () => {
      const s = await call(sim, 'GET', `/v1/sessions/${id}`);
      return s.body.status === 'COMPLETED' ? s.body : undefined;
    }, 'COMPLETED');
    expect(Date.parse(done.endedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    expect(sim.getSession(id!)?.status).toBe('COMPLETED');
    const stats = sim.stats();
    expect(stats.closes).toMatchObject({ calls: 1, distinctSessions: 1, released: 1, releasedMoreThanOnce: 0 });
    expect(stats.sessions).toEqual({ PENDING: 0, RUNNING: 0, ERROR: 0, TIMED_OUT: 0, COMPLETED: 1 });
    await sim.close();
  });

  it('counts a second successful close of a session that still reads RUNNING as a double release', async () => {
    const sim = await start({ releaseDelayMs: 60_000 });
    const [a, b] = sim.createSessions(2);
    expect((await close(sim, a!)).body.status).toBe('RUNNING');
    expect((await close(sim, a!)).status).toBe(200);
    expect((await close(sim, a!)).status).toBe(200);
    expect((await close(sim, b!)).status).toBe(200);
    expect(sim.stats().closes).toMatchObject({ calls: 4, distinctSessions: 2, released: 4, releasedMoreThanOnce: 1 });
    await sim.close();
  });

  it('answers a close of an ended session per closeFinished: 200 with the session, 409 or 400', async () => {
    const sim = await start({ releaseDelayMs: 0 });
    const [id] = sim.createSessions(1);
    const first = await close(sim, id!);
    expect(first.body).toMatchObject({ status: 'COMPLETED', endedAt: expect.any(String) });
    const again = await close(sim, id!);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, status: 'COMPLETED' });
    sim.setFaults({ closeFinished: '409' });
    const conflict = await close(sim, id!);
    expectErrorBody(conflict, 409);
    expect(conflict.body.message).toContain(id);
    sim.setFaults({ closeFinished: '400' });
    expectErrorBody(await close(sim, id!), 400);
    expect(sim.stats().closes).toMatchObject({ calls: 4, released: 1, alreadyFinished: 3 });
    await sim.close();
  });
});

describe('simulator: errors', () => {
  it('answers 401 without a key or with an unknown one, and never echoes the key', async () => {
    const sim = await start({ apiKeys: ['good-key'] });
    const [id] = sim.createSessions(1);
    expectErrorBody(await call(sim, 'GET', `/v1/sessions/${id}`, { key: null }), 401);
    const wrong = await call(sim, 'POST', `/v1/sessions/${id}`, { key: 'wrong-secret-123', body: { status: 'REQUEST_RELEASE' } });
    expectErrorBody(wrong, 401);
    expect(JSON.stringify(wrong.body)).not.toContain('wrong-secret-123');
    expect((await call(sim, 'GET', `/v1/sessions/${id}`, { key: 'good-key' })).status).toBe(200);
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    expect(sim.stats().closes.calls).toBe(1);
    await sim.close();
  });

  it('answers 404 for unknown ids, other projects and unknown routes (DELETE included), as JSON', async () => {
    const sim = await start();
    const [foreign] = sim.createSessions(1, { projectId: 'other-project' });
    const missing = await call(sim, 'GET', '/v1/sessions/00000000-0000-4000-8000-000000000000');
    expectErrorBody(missing, 404);
    for (const path of [`/v1/sessions/${foreign}`, `/v1/sessions/${foreign}/debug`, `/v1/sessions/${foreign}/recording`, `/v1/sessions/${foreign}/logs`, '/v1/projects/other-project', '/v1/projects/other-project/usage']) {
      expectErrorBody(await call(sim, 'GET', path), 404);
    }
    expectErrorBody(await close(sim, foreign!), 404);
    expect(sim.getSession(foreign!)?.status).toBe('RUNNING');
    const [own] = sim.createSessions(1);
    expectErrorBody(await close(sim, own!, { status: 'REQUEST_RELEASE', projectId: 'other-project' }), 404);
    expectErrorBody(await call(sim, 'DELETE', `/v1/sessions/${own}`), 404);
    expectErrorBody(await call(sim, 'GET', '/v1/contexts'), 404);
    expectErrorBody(await call(sim, 'DELETE', '/v1/projects/sim-project'), 404);
    expectErrorBody(await call(sim, 'GET', '/nope', { key: null }), 404);
    expect(sim.getSession(own!)?.status).toBe('RUNNING');
    expect(sim.stats().closes.notFound).toBe(2);
    await sim.close();
  });

  it('answers 400 for bad bodies, bad create fields, bad list queries and bad path encoding', async () => {
    const sim = await start();
    const [id] = sim.createSessions(1);
    const bad: Array<[string, string, { body?: unknown; raw?: string }, string]> = [
      ['POST', `/v1/sessions/${id}`, { raw: '{"status": ' }, 'JSON'],
      ['POST', `/v1/sessions/${id}`, {}, 'REQUEST_RELEASE'],
      ['POST', `/v1/sessions/${id}`, { body: { status: 'COMPLETED' } }, 'REQUEST_RELEASE'],
      ['POST', `/v1/sessions/${id}`, { body: ['REQUEST_RELEASE'] }, 'REQUEST_RELEASE'],
      ['POST', `/v1/sessions/${id}`, { body: { status: 'REQUEST_RELEASE', projectId: 5 } }, 'projectId'],
      ['POST', '/v1/sessions', { body: { timeout: 59 } }, 'timeout'],
      ['POST', '/v1/sessions', { body: { timeout: 21601 } }, 'timeout'],
      ['POST', '/v1/sessions', { body: { timeout: '600' } }, 'timeout'],
      ['POST', '/v1/sessions', { body: { region: 'mars-1' } }, 'region'],
      ['POST', '/v1/sessions', { body: { keepAlive: 'yes' } }, 'keepAlive'],
      ['POST', '/v1/sessions', { body: { userMetadata: { blob: 'x'.repeat(600) } } }, 'userMetadata'],
      ['POST', '/v1/sessions', { body: { userMetadata: 'tag' } }, 'userMetadata'],
      ['GET', '/v1/sessions?status=DONE', {}, 'status'],
      ['GET', `/v1/sessions?q=${encodeURIComponent("metadata['a']:'b'")}`, {}, 'q'],
      ['GET', `/v1/sessions?q=${encodeURIComponent("user_metadata['a']:b")}`, {}, 'q'],
      ['GET', '/v1/sessions/%E0%A4%A', {}, 'percent'],
    ];
    for (const [method, path, o, mentions] of bad) {
      const a = await call(sim, method, path, o);
      expectErrorBody(a, 400, `${method} ${path} ${JSON.stringify(o)}`);
      expect(a.body.message, `${method} ${path}`).toContain(mentions);
    }
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    expect(sim.stats().sessions.RUNNING).toBe(1);
    await sim.close();
  });

  it('decodes percent-encoded ids in paths', async () => {
    const sim = await start();
    const [id] = sim.createSessions(1);
    const everyCharEncoded = [...id!].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    expect((await call(sim, 'GET', `/v1/sessions/${everyCharEncoded}`)).body.id).toBe(id);
    const slash = await call(sim, 'GET', '/v1/sessions/a%2Fb%3F');
    expectErrorBody(slash, 404);
    expect(slash.body.message).toContain('a/b?');
    expect((await close(sim, everyCharEncoded)).status).toBe(404);
    expect((await call(sim, 'POST', `/v1/sessions/${everyCharEncoded}`, { body: { status: 'REQUEST_RELEASE' } })).status).toBe(200);
    expect(sim.stats().closes.distinctSessions).toBe(2);
    await sim.close();
  });
});

describe('simulator: list, create, debug, recording', () => {
  it('lists a bare array of the project, filtered by status and by user_metadata q', async () => {
    const sim = await start({ releaseDelayMs: 0 });
    const red = sim.createSessions(2, { userMetadata: { team: { name: 'red' }, shard: 5 } });
    const blue = sim.createSessions(1, { userMetadata: { team: { name: "blue's" } } });
    const pending = sim.createSessions(2, { status: 'PENDING' });
    sim.createSessions(3, { projectId: 'other-project', userMetadata: { team: { name: 'red' } } });
    await close(sim, blue[0]!);

    const all = await call(sim, 'GET', '/v1/sessions');
    expect(Array.isArray(all.body)).toBe(true);
    expect(all.body).toHaveLength(5);
    const ids = (a: Answer) => (a.body as Array<{ id: string }>).map((s) => s.id).sort();
    expect(ids(await call(sim, 'GET', '/v1/sessions?status=RUNNING'))).toEqual([...red].sort());
    expect(ids(await call(sim, 'GET', '/v1/sessions?status=PENDING'))).toEqual([...pending].sort());
    expect(ids(await call(sim, 'GET', '/v1/sessions?status=COMPLETED'))).toEqual(blue);
    expect((await call(sim, 'GET', '/v1/sessions?status=ERROR')).body).toEqual([]);

    const q = (s: string) => `/v1/sessions?q=${encodeURIComponent(s)}`;
    expect(ids(await call(sim, 'GET', q("user_metadata['team']['name']:'red'")))).toEqual([...red].sort());
    expect(ids(await call(sim, 'GET', `${q("user_metadata['team']['name']:'red'")}&status=COMPLETED`))).toEqual([]);
    expect(ids(await call(sim, 'GET', q("user_metadata['team']['name']:'blue\\'s'")))).toEqual(blue);
    expect(ids(await call(sim, 'GET', q("user_metadata['shard']:'5'")))).toEqual([...red].sort());
    expect(ids(await call(sim, 'GET', q("user_metadata['team']:'red'")))).toEqual([]);
    expect(ids(await call(sim, 'GET', q("user_metadata['missing']['deep']:'x'")))).toEqual([]);
    await sim.close();
  });

  it('creates sessions (201 with connection details) up to the concurrency limit, then 429 with the real message', async () => {
    const sim = await start({ concurrencyLimit: 2, releaseDelayMs: 0 });
    const created = await call(sim, 'POST', '/v1/sessions', {
      body: { timeout: 600, keepAlive: true, region: 'eu-central-1', userMetadata: { job: 'a' }, browserSettings: { context: { id: 'ctx-1' } } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'RUNNING', keepAlive: true, region: 'eu-central-1', userMetadata: { job: 'a' }, contextId: 'ctx-1', projectId: 'sim-project' });
    expect(created.body.id).toMatch(UUID);
    expect(created.body.connectUrl).toMatch(/^ws:\/\//);
    expect(created.body.seleniumRemoteUrl).toMatch(/^http:\/\//);
    expect(created.body.signingKey).toEqual(expect.any(String));
    expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.startedAt)).toBe(600_000);
    // userMetadata must be under 512 characters as JSON: 511 is accepted, 512 is not
    const meta = (n: number) => ({ k: 'x'.repeat(n - '{"k":""}'.length) });
    expect(JSON.stringify(meta(512))).toHaveLength(512);
    expectErrorBody(await call(sim, 'POST', '/v1/sessions', { body: { userMetadata: meta(512) } }), 400);
    const atLimit = await call(sim, 'POST', '/v1/sessions', { body: { userMetadata: meta(511) } });
    expect(atLimit.status).toBe(201);
    await close(sim, atLimit.body.id);
    const empty = await call(sim, 'POST', '/v1/sessions', { raw: '' });
    expect(empty.status).toBe(201);

    const over = await call(sim, 'POST', '/v1/sessions', { body: {} });
    expectErrorBody(over, 429);
    expect(over.body.message).toBe("You've exceeded your max concurrent sessions limit (limit 2, currently 2)");
    await close(sim, empty.body.id);
    expect((await call(sim, 'POST', '/v1/sessions', { body: {} })).status).toBe(201);
    expectErrorBody(await call(sim, 'POST', '/v1/sessions', { body: { projectId: 'other-project' } }), 404);
    await sim.close();
  });

  it('serves debug URLs and an rrweb-like recording', async () => {
    const sim = await start();
    const [id] = sim.createSessions(1);
    const debug = await call(sim, 'GET', `/v1/sessions/${id}/debug`);
    expect(debug.status).toBe(200);
    expect(debug.body).toMatchObject({ debuggerFullscreenUrl: expect.any(String), debuggerUrl: expect.any(String), wsUrl: expect.any(String) });
    expect(debug.body.pages).toHaveLength(1);
    expect(Object.keys(debug.body.pages[0]).sort()).toEqual(['debuggerFullscreenUrl', 'debuggerUrl', 'faviconUrl', 'id', 'title', 'url']);
    for (const f of ['url', 'faviconUrl', 'debuggerUrl', 'debuggerFullscreenUrl']) expect(debug.body.pages[0][f], f).toMatch(/^[a-z]+:\S+$/);
    const rec = await call(sim, 'GET', `/v1/sessions/${id}/recording`);
    expect(rec.status).toBe(200);
    expect(rec.body.length).toBeGreaterThan(0);
    for (const e of rec.body) {
      expect(e).toEqual({ data: expect.any(Object), sessionId: id, timestamp: expect.any(Number), type: expect.any(Number) });
    }
    await sim.close();
  });
});

describe('simulator: keyless calls', () => {
  it('keyless close calls are no longer recorded in an unbounded set: they count in `calls`, never in `distinctSessions`', async () => {
    const sim = await start({ apiKeys: ['good-key'] });
    const n = 500;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          call(sim, 'POST', `/v1/sessions/made-up-${i + j}-${'x'.repeat(200)}`, { key: (i + j) % 2 === 0 ? null : 'wrong-key', body: { status: 'REQUEST_RELEASE' } }),
        ),
      );
    }
    expect(sim.stats().closes).toMatchObject({ calls: n, distinctSessions: 0 });
    // Statuses are counted when an answer has finished sending, which may be just after the client has it.
    await waitForState('every answer counted by status', () => (sim.stats().requests.byStatus['401'] ?? 0) >= n, 5000, 10);
    expect(sim.stats().requests.byStatus).toEqual({ '401': n });
    // Calls with the key still count their distinct ids.
    const [id] = sim.createSessions(1);
    await call(sim, 'POST', `/v1/sessions/${id}`, { key: 'good-key', body: { status: 'REQUEST_RELEASE' } });
    await call(sim, 'POST', `/v1/sessions/${id}`, { key: 'good-key', body: { status: 'REQUEST_RELEASE' } });
    expect(sim.stats().closes).toMatchObject({ calls: n + 2, distinctSessions: 1 });
    await sim.close();
  });
});
