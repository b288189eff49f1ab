import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startSimulator, SimulatorInputError, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/index.js';
import { track } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

async function start(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  return track(await startSimulator(opts), 'simulator');
}

/** An admin call: no key, JSON in and out. */
async function admin(sim: SimulatorHandle, method: string, path: string, body?: unknown, raw?: string) {
  const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const res = await fetch(sim.url + path, { method, body: payload, ...(payload !== undefined ? { headers: { 'content-type': 'application/json' } } : {}) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

describe('simulator: admin API', () => {
  it('seeds sessions with metadata, age, keepAlive and status; admin calls need no key and are not counted', async () => {
    const sim = await start();
    const seeded = await admin(sim, 'POST', '/_sim/sessions', {
      count: 3,
      userMetadata: { orphan: 'yes' },
      startedAgoSeconds: 600,
      keepAlive: true,
      status: 'PENDING',
    });
    expect(seeded.status).toBe(200);
    expect(seeded.body.ids).toHaveLength(3);
    const s = sim.getSession(seeded.body.ids[0])!;
    expect(s).toMatchObject({ status: 'PENDING', keepAlive: true, userMetadata: { orphan: 'yes' } });
    const ageS = (Date.now() - Date.parse(s.startedAt)) / 1000;
    expect(ageS).toBeGreaterThanOrEqual(600);
    expect(ageS).toBeLessThan(600 + 300);
    expect(Date.parse(s.createdAt)).toBe(Date.parse(s.startedAt));
    expect((await admin(sim, 'POST', '/_sim/sessions', { count: 2 })).body.ids).toHaveLength(2);

    const stats = (await admin(sim, 'GET', '/_sim/stats')).body;
    expect(stats).toEqual(sim.stats());
    expect(stats.sessions).toEqual({ PENDING: 3, RUNNING: 2, ERROR: 0, TIMED_OUT: 0, COMPLETED: 0 });
    expect(stats.requests.total).toBe(0);
    expect(stats.maxRequestsInAnySecond).toBe(0);
    expect(Object.keys(stats).sort()).toEqual(['byProject', 'closes', 'maxInFlight', 'maxRequestsInAnySecond', 'perSecond', 'requests', 'sessions']);
    await sim.close();
  });

  it('rejects bad admin input with a 400 that names each bad field', async () => {
    const sim = await start();
    const cases: Array<[string, unknown, string[]]> = [
      ['/_sim/sessions', { count: 0 }, ['count']],
      ['/_sim/sessions', { count: 100_001 }, ['count', '100001']],
      ['/_sim/sessions', { count: 1.5 }, ['count']],
      ['/_sim/sessions', { count: '3' }, ['count']],
      ['/_sim/sessions', {}, ['count']],
      ['/_sim/sessions', { count: 1, status: 'COMPLETED', colour: 'red' }, ['status', 'colour', 'unknown field']],
      ['/_sim/sessions', { count: 1, startedAgoSeconds: -5, userMetadata: [] }, ['startedAgoSeconds', 'userMetadata']],
      ['/_sim/sessions', [1], ['JSON object']],
      ['/_sim/faults', { errorRate: 2, latencyMs: [5, 1], closeFinished: '500' }, ['errorRate', 'latencyMs', 'closeFinished']],
      ['/_sim/faults', { hangRate: -0.1, resetRate: 'often', latencyMs: 5 }, ['hangRate', 'resetRate', 'latencyMs']],
      ['/_sim/faults', { rate: -1, burst: 0, chaos: true }, ['rate', 'burst', 'chaos']],
    ];
    for (const [path, body, mentions] of cases) {
      const a = await admin(sim, 'POST', path, body);
      expect(a.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(a.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      for (const m of mentions) expect(a.body.message, `${path} ${JSON.stringify(body)}`).toContain(m);
    }
    const badJson = await admin(sim, 'POST', '/_sim/sessions', undefined, '{"count":');
    expect(badJson.status).toBe(400);
    expect((await admin(sim, 'GET', '/_sim/calls?limit=-1')).status).toBe(400);
    expect((await admin(sim, 'GET', '/_sim/nothing')).status).toBe(404);
    // nothing changed
    expect(sim.stats().sessions.RUNNING).toBe(0);
    expect((await admin(sim, 'GET', '/_sim/faults')).body).toEqual({
      errorRate: 0,
      resetRate: 0,
      hangRate: 0,
      latencyMs: [0, 0],
      closeFinished: '200',
      rate: 0,
      burst: 1,
    });
    expect(() => sim.createSessions(0)).toThrow(SimulatorInputError);
    expect(() => sim.createSessions(2, { status: 'DONE' as 'RUNNING' })).toThrow(/status/);
    await sim.close();
  });

  it('changes faults partially at run time and reset() returns to the start configuration', async () => {
    const sim = await start({ faults: { closeFinished: '409' }, rate: 100, releaseDelayMs: 0 });
    const [id] = sim.createSessions(2);
    const changed = await admin(sim, 'POST', '/_sim/faults', { closeFinished: '400', latencyMs: [1, 2], rate: 5 });
    expect(changed.body).toMatchObject({ closeFinished: '400', latencyMs: [1, 2], rate: 5, burst: 5, errorRate: 0 });
    const headers = { 'x-bb-api-key': 'sim-key', 'content-type': 'application/json' };
    const release = () => fetch(`${sim.url}/v1/sessions/${id}`, { method: 'POST', headers, body: '{"status":"REQUEST_RELEASE"}' });
    expect((await release()).status).toBe(200);
    expect((await release()).status).toBe(400);
    // A call is logged when its answer has finished sending, which may be just after the client has it.
    await waitFor('both calls in the log', () => sim.calls().length >= 2, 5000, 10);
    expect(sim.calls()).toHaveLength(2);
    expect(sim.stats().requests.total).toBe(2);

    expect((await admin(sim, 'POST', '/_sim/reset')).status).toBe(200);
    const stats = sim.stats();
    expect(stats.requests).toMatchObject({ total: 0, byStatus: {} });
    expect(stats.closes).toMatchObject({ calls: 0, distinctSessions: 0, released: 0 });
    expect(stats.sessions.COMPLETED + stats.sessions.RUNNING).toBe(0);
    expect(stats.perSecond).toEqual([]);
    expect(sim.calls()).toEqual([]);
    expect(sim.getSession(id!)).toBeUndefined();
    expect((await admin(sim, 'GET', '/_sim/faults')).body).toMatchObject({ closeFinished: '409', latencyMs: [0, 0], rate: 100, burst: 100 });

    const [again] = sim.createSessions(1);
    sim.setFaults({ errorRate: 1 });
    sim.reset();
    expect(sim.getSession(again!)).toBeUndefined();
    expect((await admin(sim, 'GET', '/_sim/faults')).body.errorRate).toBe(0);
    await sim.close();
  });

  it('keeps a bounded call log, readable over HTTP, and none with logRequests false', async () => {
    const sim = await start({ callLogSize: 3 });
    for (let i = 0; i < 5; i++) await (await fetch(`${sim.url}/v1/sessions/id-${i}`, { headers: { 'x-bb-api-key': 'sim-key' } })).text();
    await waitFor('the last call in the log', () => sim.calls().at(-1)?.path === '/v1/sessions/id-4', 5000, 10);
    const calls = sim.calls();
    expect(calls.map((c) => c.path)).toEqual(['/v1/sessions/id-2', '/v1/sessions/id-3', '/v1/sessions/id-4']);
    expect(calls[0]).toMatchObject({ method: 'GET', status: 404, time: expect.any(Number), durationMs: expect.any(Number) });
    expect((await admin(sim, 'GET', '/_sim/calls?limit=1')).body).toEqual([calls[2]]);
    await sim.close();

    const quiet = await start({ logRequests: false });
    await (await fetch(`${quiet.url}/v1/sessions`, { headers: { 'x-bb-api-key': 'sim-key' } })).text();
    expect(quiet.calls()).toEqual([]);
    expect(quiet.stats().requests.total).toBe(1);
    await quiet.close();
  });

  it('rejects bad options at start, naming each one and never echoing a key', async () => {
    const err = await startSimulator({
      rate: -1,
      burst: 0,
      port: 70_000,
      apiKeys: ['very-secret-key', ''],
      faults: { errorRate: 3 },
      releaseDelayMs: -1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulatorInputError);
    const message = (err as Error).message;
    for (const field of ['rate', 'burst', 'port', 'apiKeys.1', 'faults.errorRate', 'releaseDelayMs']) expect(message).toContain(`\`${field}\``);
    expect(message).not.toContain('very-secret-key');
    expect((err as SimulatorInputError).code).toBe('SIMULATOR_INVALID_INPUT');
  });
});

/** One request with exactly these headers (fetch adds its own), body as given. */
function raw(sim: { url: string }, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const h = { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
    const req = httpRequest(sim.url + path, { method, headers: h, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('simulator: admin API and web pages', () => {
  it('the admin API no longer accepts any content type: a form or text/plain POST gets 415 and changes nothing', async () => {
    const sim = await start();
    sim.createSessions(3);
    const attempts: Array<[string, Record<string, string>, string]> = [
      ['/_sim/reset', { 'content-type': 'application/x-www-form-urlencoded' }, ''],
      ['/_sim/reset', { 'content-type': 'text/plain' }, '{}'],
      ['/_sim/faults', { 'content-type': 'text/plain;charset=UTF-8' }, '{"errorRate":1}'],
      ['/_sim/faults', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'],
      ['/_sim/faults', {}, '{"errorRate":1}'],
      ['/_sim/sessions', { 'content-type': 'application/jsonp' }, '{"count":5}'],
    ];
    for (const [path, headers, body] of attempts) {
      const r = await raw(sim, 'POST', path, headers, body);
      expect(r.status, `${path} ${JSON.stringify(headers)}`).toBe(415);
      expect(JSON.parse(r.body)).toMatchObject({ statusCode: 415, message: expect.stringContaining('application/json') });
    }
    expect(sim.stats().sessions.RUNNING).toBe(3);
    expect((await admin(sim, 'GET', '/_sim/faults')).body.errorRate).toBe(0);
    // JSON (with a charset) goes through, and so does an empty POST without a type (curl -X POST).
    expect((await raw(sim, 'POST', '/_sim/faults', { 'content-type': 'Application/JSON; charset=utf-8' }, '{"errorRate":0.5}')).status).toBe(200);
    expect((await admin(sim, 'GET', '/_sim/faults')).body.errorRate).toBe(0.5);
    expect((await raw(sim, 'POST', '/_sim/reset', {})).status).toBe(200);
    expect(sim.stats().sessions.RUNNING).toBe(0);
    await sim.close();
  });

  it('a web page can no longer reset or fault the simulator: cross-site Origin, Sec-Fetch-Site and foreign Host names get 403', async () => {
    const sim = await start();
    sim.createSessions(2);
    const port = new URL(sim.url).port;
    const json = { 'content-type': 'application/json' };
    const attempts: Array<[string, string, Record<string, string>]> = [
      ['POST', '/_sim/reset', { origin: 'https://evil.example' }],
      ['POST', '/_sim/reset', { origin: 'null' }],
      ['POST', '/_sim/reset', { origin: `http://localhost:${port}` }],
      ['POST', '/_sim/reset', { 'sec-fetch-site': 'cross-site' }],
      ['POST', '/_sim/reset', { 'sec-fetch-site': 'same-site' }],
      ['POST', '/_sim/faults', { ...json, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
      // DNS rebinding: the page's own name, pointed at 127.0.0.1; Origin and Host agree.
      ['POST', '/_sim/reset', { host: `attacker.example:${port}`, origin: `http://attacker.example:${port}`, 'sec-fetch-site': 'same-origin' }],
      ['GET', '/_sim/calls', { host: `attacker.example:${port}` }],
      ['GET', '/_sim/stats', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    ];
    for (const [method, path, headers] of attempts) {
      const r = await raw(sim, method, path, headers, method === 'POST' && headers['content-type'] ? '{"errorRate":1}' : undefined);
      expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ statusCode: 403, message: expect.stringContaining('Refused') });
    }
    expect(sim.stats().sessions.RUNNING).toBe(2);
    expect((await admin(sim, 'GET', '/_sim/faults')).body.errorRate).toBe(0);
    // The simulator's own origin, a typed URL (Sec-Fetch-Site none) and scripts are answered.
    expect((await raw(sim, 'GET', '/_sim/stats', { 'sec-fetch-site': 'none' })).status).toBe(200);
    expect((await raw(sim, 'GET', '/_sim/stats', { host: `localhost:${port}` })).status).toBe(200);
    expect((await raw(sim, 'POST', '/_sim/faults', { ...json, origin: sim.url, 'sec-fetch-site': 'same-origin' }, '{"errorRate":0}')).status).toBe(200);
    expect((await raw(sim, 'POST', '/_sim/reset', {})).status).toBe(200);
    expect(sim.stats().sessions.RUNNING).toBe(0);
    await sim.close();
  });

  it('answers any Host name when it listens beyond loopback (compose reaches it as `simulator`), still refusing other sites', async () => {
    const sim = await start({ host: '0.0.0.0' });
    const port = sim.port;
    const local = { url: `http://127.0.0.1:${port}` };
    expect((await raw(local, 'GET', '/_sim/stats', { host: `simulator:${port}` })).status).toBe(200);
    expect((await raw(local, 'POST', '/_sim/reset', { host: `simulator:${port}`, origin: 'https://evil.example' })).status).toBe(403);
    await sim.close();
  });
});
