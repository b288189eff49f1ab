import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';
import { answerProblems, requestBodyProblems } from './openapi-document.js';

// The simulator is the only stand-in for the real API: every answer of a session or project
// endpoint a closer or operator uses is checked against Browserbase's official OpenAPI document
// with a JSON-schema validator — the status must be declared (or be an error in the documented
// `{statusCode, error, message}` shape) and the body valid against that status's schema.

const API_KEY = 'sim-key';

interface Answer {
  status: number;
  body: unknown;
}

async function start(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  return track(await startSimulator({ apiKeys: [API_KEY], ...opts }), 'simulator');
}

async function call(sim: SimulatorHandle, method: string, path: string, o: { body?: unknown; key?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.key !== null) headers['x-bb-api-key'] = o.key ?? API_KEY;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(sim.url + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Calls `method path` (filled from `template`) and checks the answer conforms; returns it. */
async function conforming(sim: SimulatorHandle, method: string, template: string, path: string, o: { body?: unknown; key?: string | null } = {}): Promise<Answer> {
  const a = await call(sim, method, path, o);
  expect(answerProblems(method, template, a.status, a.body), `${method} ${path} -> ${a.status} ${JSON.stringify(a.body)}`).toEqual([]);
  return a;
}

const SESSION_GETS = ['/v1/sessions/{id}', '/v1/sessions/{id}/debug', '/v1/sessions/{id}/logs', '/v1/sessions/{id}/recording'] as const;
const fill = (template: string, id: string) => template.replace('{id}', encodeURIComponent(id));

describe('the simulator conforms to the OpenAPI document', () => {
  it('sessions create / get / update / list / debug / logs / recording answer a declared status with a body valid against its schema', async () => {
    const sim = await start({ releaseDelayMs: 0 });
    const created = await conforming(sim, 'POST', '/v1/sessions', '/v1/sessions', {
      body: { timeout: 600, keepAlive: true, region: 'eu-central-1', userMetadata: { suite: 'openapi' }, browserSettings: { context: { id: 'ctx-1' } } },
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    sim.createSessions(2, { status: 'PENDING', userMetadata: { suite: 'openapi' } });
    for (const t of SESSION_GETS) expect((await conforming(sim, 'GET', t, fill(t, id))).status, t).toBe(200);
    for (const path of ['/v1/sessions', '/v1/sessions?status=RUNNING', '/v1/sessions?status=PENDING', `/v1/sessions?q=${encodeURIComponent("user_metadata['suite']:'openapi'")}`]) {
      const listed = await conforming(sim, 'GET', '/v1/sessions', path);
      expect((listed.body as unknown[]).length, path).toBeGreaterThan(0);
    }
    const released = await conforming(sim, 'POST', '/v1/sessions/{id}', `/v1/sessions/${id}`, { body: { status: 'REQUEST_RELEASE' } });
    expect(released.body).toMatchObject({ id, status: 'COMPLETED', endedAt: expect.any(String) });
    // an ended session: no connection details, no pages, a closing log entry
    for (const t of SESSION_GETS) expect((await conforming(sim, 'GET', t, fill(t, id))).status, t).toBe(200);
    expect((await conforming(sim, 'POST', '/v1/sessions/{id}', `/v1/sessions/${id}`, { body: { status: 'REQUEST_RELEASE' } })).status).toBe(200);
    await sim.close();
  });

  it("debug's pages[].faviconUrl is a URI (it was an empty string, which the document's `format: uri` rejects)", async () => {
    const sim = await start();
    const [id] = sim.createSessions(1);
    const debug = await conforming(sim, 'GET', '/v1/sessions/{id}/debug', `/v1/sessions/${id}/debug`);
    const pages = (debug.body as { pages: Array<{ faviconUrl: string }> }).pages;
    expect(pages).toHaveLength(1);
    expect(pages[0]?.faviconUrl).toMatch(/^http:\/\//);
    await sim.close();
  });

  it('GET /v1/sessions/{id}/logs no longer answers 404: CDP entries of the page, and Browser.close once the session ended', async () => {
    const sim = await start({ releaseDelayMs: 0 });
    const [id] = sim.createSessions(1);
    const running = await conforming(sim, 'GET', '/v1/sessions/{id}/logs', `/v1/sessions/${id}/logs`);
    expect(running.status).toBe(200);
    const methods = (a: Answer) => (a.body as Array<{ method: string; sessionId: string }>).map((e) => e.method);
    expect(methods(running)).toEqual(['Target.createTarget', 'Page.navigate']);
    for (const e of running.body as Array<{ sessionId: string }>) expect(e.sessionId).toBe(id);
    await call(sim, 'POST', `/v1/sessions/${id}`, { body: { status: 'REQUEST_RELEASE' } });
    const ended = await conforming(sim, 'GET', '/v1/sessions/{id}/logs', `/v1/sessions/${id}/logs`);
    expect(methods(ended)).toEqual(['Target.createTarget', 'Page.navigate', 'Browser.close']);
    const [foreign] = sim.createSessions(1, { projectId: 'other-project' });
    expect((await conforming(sim, 'GET', '/v1/sessions/{id}/logs', `/v1/sessions/${foreign}/logs`)).status).toBe(404);
    await sim.close();
  });

  it('GET /v1/projects, /v1/projects/{id} and /v1/projects/{id}/usage no longer answer 404: the key\'s project with concurrency and defaultTimeout', async () => {
    const sim = await start({ projectId: 'proj-1', concurrencyLimit: 7 });
    const listed = await conforming(sim, 'GET', '/v1/projects', '/v1/projects');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ id: 'proj-1', concurrency: 7, defaultTimeout: 3600 })]);
    const got = await conforming(sim, 'GET', '/v1/projects/{id}', '/v1/projects/proj-1');
    expect(got.body).toEqual((listed.body as unknown[])[0]);
    const usage = await conforming(sim, 'GET', '/v1/projects/{id}/usage', '/v1/projects/proj-1/usage');
    expect(usage.body).toEqual({ browserMinutes: 0, proxyBytes: 0 });
    // a Create without `timeout` runs for the project's defaultTimeout
    const created = (await conforming(sim, 'POST', '/v1/sessions', '/v1/sessions', { body: {} })).body as { startedAt: string; expiresAt: string };
    expect(Date.parse(created.expiresAt) - Date.parse(created.startedAt)).toBe(3600 * 1000);
    for (const path of ['/v1/projects/other-project', '/v1/projects/other-project/usage']) {
      const missing = await conforming(sim, 'GET', path.endsWith('usage') ? '/v1/projects/{id}/usage' : '/v1/projects/{id}', path);
      expect(missing.status, path).toBe(404);
      expect((missing.body as { message: string }).message).toContain('other-project');
    }
    await sim.close();
  });

  it("usage's browserMinutes sums the sessions' real run times, each billed at least one minute, rounded up", async () => {
    const sim = await start({ releaseDelayMs: 0 });
    const usage = async () => (await conforming(sim, 'GET', '/v1/projects/{id}/usage', '/v1/projects/sim-project/usage')).body as { browserMinutes: number };
    const [quick] = sim.createSessions(1);
    await call(sim, 'POST', `/v1/sessions/${quick}`, { body: { status: 'REQUEST_RELEASE' } });
    expect((await usage()).browserMinutes).toBe(1); // ran for milliseconds: one minute
    sim.createSessions(1, { startedAgoSeconds: 150 }); // running for 2.5 minutes: three
    expect((await usage()).browserMinutes).toBe(4);
    const [long] = sim.createSessions(1, { startedAgoSeconds: 570 }); // 9.5 minutes, then ended: ten
    await call(sim, 'POST', `/v1/sessions/${long}`, { body: { status: 'REQUEST_RELEASE' } });
    expect((await usage()).browserMinutes).toBe(14);
    sim.createSessions(3, { projectId: 'other-project', startedAgoSeconds: 6000 }); // not this project's
    expect((await usage()).browserMinutes).toBe(14);
    await sim.close();
  });

  it('errors keep the documented {statusCode, error, message} shape: 404 unknown ids, 401 without a key, 400 bad bodies', async () => {
    const sim = await start();
    const unknown = randomUUID();
    for (const t of SESSION_GETS) {
      expect((await conforming(sim, 'GET', t, fill(t, unknown))).status, t).toBe(404);
      expect((await conforming(sim, 'GET', t, fill(t, unknown), { key: null })).status, t).toBe(401);
    }
    expect((await conforming(sim, 'POST', '/v1/sessions/{id}', `/v1/sessions/${unknown}`, { body: { status: 'REQUEST_RELEASE' } })).status).toBe(404);
    for (const [method, t, path] of [
      ['GET', '/v1/sessions', '/v1/sessions'],
      ['POST', '/v1/sessions', '/v1/sessions'],
      ['POST', '/v1/sessions/{id}', `/v1/sessions/${unknown}`],
      ['GET', '/v1/projects', '/v1/projects'],
      ['GET', '/v1/projects/{id}', '/v1/projects/sim-project'],
      ['GET', '/v1/projects/{id}/usage', '/v1/projects/sim-project/usage'],
    ] as const) {
      expect((await conforming(sim, method, t, path, { key: null })).status, path).toBe(401);
      expect((await conforming(sim, method, t, path, { key: 'not-the-key' })).status, path).toBe(401);
    }
    const [id] = sim.createSessions(1);
    expect((await conforming(sim, 'POST', '/v1/sessions', '/v1/sessions', { body: { timeout: 59 } })).status).toBe(400);
    expect((await conforming(sim, 'POST', '/v1/sessions/{id}', `/v1/sessions/${id}`, { body: { status: 'COMPLETED' } })).status).toBe(400);
    expect((await conforming(sim, 'GET', '/v1/sessions', '/v1/sessions?status=DONE')).status).toBe(400);
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    await sim.close();
  });
});

describe('request bodies are validated as the document says', () => {
  const createBodies: unknown[] = [
    {},
    { timeout: 60 },
    { timeout: 21600 },
    { timeout: 59 },
    { timeout: 21601 },
    { timeout: 600.5 },
    { timeout: '600' },
    { keepAlive: true },
    { keepAlive: 'yes' },
    { region: 'ap-southeast-1' },
    { region: 'mars-1' },
    { projectId: 'sim-project' },
    { projectId: 7 },
    { extensionId: 'ext-1' },
    { extensionId: 1 },
    { userMetadata: { a: { b: 1 } } },
    { userMetadata: 'tag' },
    { userMetadata: [] },
    { browserSettings: { context: { id: 'ctx', persist: true }, viewport: { width: 1280, height: 720 }, blockAds: true, os: 'linux', allowedDomains: ['example.com'] } },
    { browserSettings: { context: { persist: true } } },
    { browserSettings: { context: { id: 5 } } },
    { browserSettings: { viewport: { width: 12.5 } } },
    { browserSettings: { os: 'beos' } },
    { browserSettings: { allowedDomains: 'example.com' } },
    { browserSettings: { solveCaptchas: 'no' } },
    { browserSettings: 'fast' },
    { proxies: true },
    { proxies: [{ type: 'browserbase', geolocation: { country: 'US', city: 'New York' } }, { type: 'external', server: 'http://p:8080' }, { type: 'none' }] },
    { proxies: [{ type: 'external' }] },
    { proxies: [{ type: 'browserbase', geolocation: { country: 'USA' } }] },
    { proxies: [{ type: 'tor' }] },
    { proxies: 'yes' },
    { proxySettings: { caCertificates: ['3b241101-e2bb-4255-8caf-4136c566a962'] } },
    { proxySettings: { caCertificates: ['not-a-uuid'] } },
    { somethingNew: 1 },
    [],
    'REQUEST_RELEASE',
  ];

  it('create accepts (201) exactly the bodies the document\'s request schema accepts, and answers 400 naming the field for the others', async () => {
    const sim = await start({ concurrencyLimit: 1000 });
    for (const body of createBodies) {
      const valid = requestBodyProblems('POST', '/v1/sessions', body).length === 0;
      const a = await conforming(sim, 'POST', '/v1/sessions', '/v1/sessions', { body });
      expect(a.status, `${JSON.stringify(body)} is ${valid ? 'valid' : 'invalid'} per the document`).toBe(valid ? 201 : 400);
      if (!valid && body !== null && typeof body === 'object' && !Array.isArray(body)) {
        expect((a.body as { message: string }).message).toContain(Object.keys(body)[0]);
      }
    }
    await sim.close();
  });

  it('update (release) accepts exactly the bodies the document accepts: `status` only REQUEST_RELEASE', async () => {
    const sim = await start({ releaseDelayMs: 60_000 });
    const [id] = sim.createSessions(1);
    const bodies: unknown[] = [
      { status: 'REQUEST_RELEASE' },
      { status: 'REQUEST_RELEASE', projectId: 'sim-project' },
      { status: 'REQUEST_RELEASE', extra: true },
      { status: 'COMPLETED' },
      { status: 'request_release' },
      {},
      { projectId: 'sim-project' },
      { status: 'REQUEST_RELEASE', projectId: 5 },
      ['REQUEST_RELEASE'],
    ];
    for (const body of bodies) {
      const valid = requestBodyProblems('POST', '/v1/sessions/{id}', body).length === 0;
      const a = await conforming(sim, 'POST', '/v1/sessions/{id}', `/v1/sessions/${id}`, { body });
      expect(a.status, `${JSON.stringify(body)} is ${valid ? 'valid' : 'invalid'} per the document`).toBe(valid ? 200 : 400);
    }
    await sim.close();
  });
});
