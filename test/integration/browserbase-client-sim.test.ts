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
    expect(await client.closeSession(id!)).toEqual({ id, status: 'RUNNING', outcome: 'closed', httpStatus: 200 });
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
    expect(await client.closeSession(id!, { verify: true })).toEqual({ id, status: 'COMPLETED', outcome: 'verified', httpStatus: 200 });
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

  it('a bad key -> REJECTED 401', async () => {
    const bad = track(createBrowserbaseClient({ apiKey: 'wrong', baseUrl: sim.url }), 'browserbase client');
    const err = await caught(bad.closeSession('abc'));
    expect(err).toMatchObject({ code: 'REJECTED', statusCode: 401 });
    expect(err.message).toBe('Browserbase answered 401 Unauthorized to POST /v1/sessions/abc: Invalid X-BB-API-Key');
    await bad.close();
  });
});
