import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBrowserbaseClient, type BrowserbaseClient } from '../../src/browserbase/index.js';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';
import { caught } from './browserbase-scripted-server.js';

const KEY = 'sim-key';
let sim: SimulatorHandle;
let client: BrowserbaseClient;

beforeEach(async () => {
  sim = track(await startSimulator({ apiKeys: [KEY], releaseDelayMs: 100 }), 'simulator');
  client = track(createBrowserbaseClient({ apiKey: KEY, baseUrl: sim.url }), 'browserbase client');
});
afterEach(async () => {
  await client.close();
  await sim.close();
});

async function waitForStatus(id: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (sim.getSession(id)?.status !== status) {
    if (Date.now() > deadline) throw new Error(`session ${id} did not reach ${status} within 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The simulator's call log once it holds `n` calls (a call is logged when its socket write ends). */
async function callsOnce(n: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (sim.calls().length < n) {
    if (Date.now() > deadline) throw new Error(`the call log did not reach ${n} calls within 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return sim.calls().map((c) => `${c.method} ${c.status}`);
}

describe('Browserbase client against the simulator', () => {
  it('closes a running session: closed, then COMPLETED in the simulator', async () => {
    const [id] = sim.createSessions(1);
    expect(await client.closeSession(id!)).toEqual({ id, status: 'RUNNING', outcome: 'closed', httpStatus: 200, expiresAt: expect.any(String) });
    await waitForStatus(id!, 'COMPLETED');
    expect(sim.stats().closes).toMatchObject({ calls: 1, distinctSessions: 1 });
  });

  it('an unknown id -> already_gone (404), one request', async () => {
    const id = randomUUID();
    expect(await client.closeSession(id)).toEqual({ id, status: 'NOT_FOUND', outcome: 'already_gone', httpStatus: 404 });
    expect(await callsOnce(1)).toEqual(['POST 404']);
  });

  it("another project's session -> already_gone (the simulator answers 404)", async () => {
    const [id] = sim.createSessions(1, { projectId: 'someone-else' });
    expect(await client.closeSession(id!)).toMatchObject({ outcome: 'already_gone', httpStatus: 404 });
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
  });

  it.each(['409', '400'] as const)('closeFinished %s: closing a finished session -> already_gone via GET', async (answer) => {
    const [id] = sim.createSessions(1);
    await client.closeSession(id!);
    await waitForStatus(id!, 'COMPLETED');
    sim.setFaults({ closeFinished: answer });
    expect(await client.closeSession(id!)).toEqual({ id, status: 'COMPLETED', outcome: 'already_gone', httpStatus: Number(answer) });
    expect((await callsOnce(3)).slice(-2)).toEqual([`POST ${answer}`, 'GET 200']);
  });

  it('closeFinished 200 (the default): closing a finished session -> closed with its terminal status', async () => {
    const [id] = sim.createSessions(1);
    await client.closeSession(id!);
    await waitForStatus(id!, 'COMPLETED');
    expect(await client.closeSession(id!)).toMatchObject({ status: 'COMPLETED', outcome: 'closed', httpStatus: 200 });
  });

  it('verify polls GET until the release is done -> verified', async () => {
    const [id] = sim.createSessions(1);
    expect(await client.closeSession(id!, { verify: true })).toEqual({ id, status: 'COMPLETED', outcome: 'verified', httpStatus: 200, expiresAt: expect.any(String) });
    const calls = await callsOnce(2);
    expect(calls[0]).toBe('POST 200');
    expect(calls.slice(1).every((c) => c === 'GET 200')).toBe(true);
  });

  it('errorRate 1 -> TRANSIENT with the 5xx status', async () => {
    const [id] = sim.createSessions(1);
    sim.setFaults({ errorRate: 1 });
    const err = await caught(client.closeSession(id!));
    expect(err.code).toBe('TRANSIENT');
    expect(err.statusCode).toBeGreaterThanOrEqual(500);
    expect(err.message).toMatch(/^Browserbase answered 5\d\d .+ to POST \/v1\/sessions\/.+: simulated fault/);
  });

  it('resetRate 1 -> TRANSIENT; hangRate 1 -> TRANSIENT headers timeout', async () => {
    const [id] = sim.createSessions(1);
    sim.setFaults({ resetRate: 1 });
    expect((await caught(client.getSession(id!))).code).toBe('TRANSIENT');
    sim.setFaults({ resetRate: 0, hangRate: 1 });
    const err = await caught(client.closeSession(id!, { headersTimeoutMs: 200 }));
    expect(err).toMatchObject({ code: 'TRANSIENT' });
    expect(err.message).toMatch(/headers timeout/);
  });

  it('an empty bucket -> RATE_LIMITED with retryAfterMs', async () => {
    const [id] = sim.createSessions(1);
    sim.setRate(0.05, 1);
    let err;
    for (let i = 0; i < 5 && !err; i++) err = await client.getSession(id!).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', statusCode: 429 });
    expect((err as { retryAfterMs: number }).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('lists and reads projects, their usage and a session\'s logs', async () => {
    const projects = await client.listProjects();
    expect(projects).toHaveLength(1);
    const project = projects[0]!;
    expect(project).toMatchObject({ id: expect.any(String), name: expect.any(String), concurrency: expect.any(Number), defaultTimeout: 3600 });
    expect(await client.getProject(project.id)).toEqual(project);
    const [id] = sim.createSessions(1, { projectId: project.id });
    const usage = await client.getProjectUsage(project.id);
    expect(usage.browserMinutes).toBeGreaterThanOrEqual(1);
    expect(usage.proxyBytes).toBe(0);
    const logs = await client.getSessionLogs(id!);
    expect(logs.map((l) => l.method)).toEqual(['Target.createTarget', 'Page.navigate']);
    for (const l of logs) expect(l).toMatchObject({ sessionId: id, pageId: 0, timestamp: expect.any(Number) });
  });

  it("another project's id -> NOT_FOUND; a project id that is not one path segment -> INVALID_SESSION_ID with no request", async () => {
    expect(await caught(client.getProject('someone-else'))).toMatchObject({ code: 'NOT_FOUND', statusCode: 404 });
    expect(await caught(client.getProjectUsage('someone-else'))).toMatchObject({ code: 'NOT_FOUND', statusCode: 404 });
    const before = sim.calls().length;
    const err = await caught(client.getProject('../sessions'));
    expect(err.code).toBe('INVALID_SESSION_ID');
    expect(err.message).toMatch(/^Invalid project id "\.\.\/sessions": contains the character `\/`/);
    expect((await caught(client.getProjectUsage(''))).code).toBe('INVALID_SESSION_ID');
    expect(sim.calls().length).toBe(before);
  });

  it('creates a session with browserSettings (context, viewport), proxies and extensionId the simulator accepts', async () => {
    const s = await client.createSession({
      extensionId: 'ext_1',
      proxies: [{ type: 'browserbase', geolocation: { country: 'US' } }, { type: 'external', server: 'http://proxy.test:8080' }],
      browserSettings: { context: { id: 'ctx_auth', persist: true }, viewport: { width: 1280, height: 720 }, blockAds: true },
    });
    expect(s).toMatchObject({ status: 'RUNNING', contextId: 'ctx_auth' });
    const err = await caught(client.createSession({ browserSettings: { viewport: { width: 1.5 } } }));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 400 });
  });

  it('a bad key -> REJECTED 401', async () => {
    const bad = track(createBrowserbaseClient({ apiKey: 'wrong', baseUrl: sim.url }), 'browserbase client');
    const err = await caught(bad.closeSession('abc'));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 401 });
    expect(err.message).toBe('Browserbase answered 401 Unauthorized to POST /v1/sessions/abc: Invalid X-BB-API-Key');
    await bad.close();
  });
});
