import { Client, errors, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startSimulator, SimulatorInputError, type SimulatorHandle, type SimulatorOptions } from '../../src/simulator/index.js';
import { RequestStats } from '../../src/simulator/request-stats.js';
import { track } from '../helpers/context.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

async function start(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  return track(await startSimulator(opts), 'simulator');
}

const waitFor = (cond: () => boolean, what: string) => waitForCondition(what, cond, 10_000, 10);

const KEY = { 'x-bb-api-key': 'sim-key' };
const RELEASE = { method: 'POST' as const, headers: { ...KEY, 'content-type': 'application/json' }, body: '{"status":"REQUEST_RELEASE"}' };

describe('simulator: rate limit', () => {
  it('answers 429 with retry headers when the per-key bucket is empty, and its stats see every request', async () => {
    const sim = await start({ rate: 20, burst: 5 });
    const [id] = sim.createSessions(1);
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await fetch(`${sim.url}/v1/sessions/${id}`, { headers: KEY });
        return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
      }),
    );
    const elapsedS = (Date.now() - t0) / 1000;
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    expect(ok.length + limited.length).toBe(100);
    expect(ok.length).toBeGreaterThanOrEqual(5);
    expect(ok.length).toBeLessThanOrEqual(5 + Math.ceil(20 * elapsedS) + 1);
    for (const a of ok) {
      expect(a.headers.get('x-ratelimit-limit')).toBe('20');
      expect(Number(a.headers.get('x-ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
    }
    expect(limited.length).toBeGreaterThan(0);
    for (const a of limited) {
      expect(a.body).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.any(String) });
      expect(a.headers.get('retry-after')).toBe('1');
      expect(a.headers.get('x-ratelimit-limit')).toBe('20');
      expect(a.headers.get('x-ratelimit-remaining')).toBe('0');
      const reset = Number(a.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(0.05);
      expect(a.headers.get('retry-after-ms')).toBeNull();
    }
    // Statuses are counted when an answer has finished sending, which may be just after the client has it.
    await waitFor(() => Object.values(sim.stats().requests.byStatus).reduce((a, b) => a + b, 0) >= 100, 'every answer counted by status');
    const stats = sim.stats();
    expect(stats.requests.total).toBe(100);
    expect(stats.requests.byStatus).toEqual({ '200': ok.length, '429': limited.length });
    // 100 arrivals within elapsedS seconds: some 1 s window holds at least 100 / ceil(elapsedS)
    expect(stats.maxRequestsInAnySecond).toBeLessThanOrEqual(100);
    expect(stats.maxRequestsInAnySecond).toBeGreaterThanOrEqual(Math.ceil(100 / Math.ceil(elapsedS)));
    expect(stats.maxInFlight).toBeGreaterThanOrEqual(1);
    expect(stats.maxInFlight).toBeLessThanOrEqual(100);
    expect(stats.perSecond.reduce((n, p) => n + p.count, 0)).toBe(100);
    await sim.close();
  });

  it('keeps one bucket per key, refills it over time, and changes rate and burst at run time', async () => {
    const sim = await start({ rate: 1, burst: 1, apiKeys: ['k1', 'k2'], retryAfterMsHeader: true });
    const get = async (key: string) => {
      const res = await request(`${sim.url}/v1/sessions`, { headers: { 'x-bb-api-key': key } });
      await res.body.dump();
      return res;
    };
    expect((await get('k1')).statusCode).toBe(200);
    const limited = await get('k1');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after-ms'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after-ms'])).toBeLessThanOrEqual(1000);
    expect((await get('k2')).statusCode).toBe(200);
    // the bucket refills at 1 token/s: poll until k1 is served again
    let status = 429;
    const deadline = Date.now() + 10_000;
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await get('k1')).statusCode;
    }
    expect(status).toBe(200);

    sim.setRate(0);
    const unlimited = await Promise.all(Array.from({ length: 20 }, () => get('k1')));
    expect(unlimited.every((r) => r.statusCode === 200 && r.headers['x-ratelimit-limit'] === undefined)).toBe(true);

    const res = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rate: 0.5, burst: 2 }) });
    expect(await res.json()).toMatchObject({ rate: 0.5, burst: 2 });
    expect((await get('k2')).statusCode).toBe(200);
    expect((await get('k2')).statusCode).toBe(200);
    const third = await get('k2');
    expect(third.statusCode).toBe(429);
    expect(third.headers['x-ratelimit-limit']).toBe('0.5');
    expect(third.headers['retry-after']).toBe('2');
    await sim.close();
  });

  it('computes the sliding 1000 ms window maximum exactly (1 ms buckets) and counts per second', () => {
    const stats = new RequestStats();
    const wall = 1_700_000_000_000;
    const arrive = (ms: number, n = 1) => {
      for (let i = 0; i < n; i++) {
        stats.recordArrival(ms, wall + ms);
        stats.recordDone(200, false);
      }
    };
    arrive(0.2, 10); // [0]
    arrive(999.9); // same window as t=0: 11
    expect(stats.snapshot(emptySessions()).maxRequestsInAnySecond).toBe(11);
    arrive(1000); // window 1..1000 holds 999.9 and 1000 only
    arrive(1500, 10); // window 501..1500: 999.9, 1000 and ten = 12
    expect(stats.snapshot(emptySessions()).maxRequestsInAnySecond).toBe(12);
    arrive(1999.5, 1); // window 1000..1999: 1000, ten at 1500, this = 12
    arrive(5000, 3); // a long gap empties the window
    arrive(5999, 9); // 12 again, not more
    const snap = stats.snapshot(emptySessions());
    expect(snap.maxRequestsInAnySecond).toBe(12);
    expect(snap.requests.total).toBe(35);
    expect(snap.perSecond).toEqual([
      { second: 1_700_000_000, count: 11 },
      { second: 1_700_000_001, count: 12 },
      { second: 1_700_000_005, count: 12 },
    ]);
    expect(snap.maxInFlight).toBe(1);
  });
});

function emptySessions() {
  return { PENDING: 0, RUNNING: 0, ERROR: 0, TIMED_OUT: 0, COMPLETED: 0 };
}

describe('simulator: faults', () => {
  it('errorRate 1 answers 500/502/503 with the error body after auth, and releases nothing', async () => {
    const sim = await start({ faults: { errorRate: 1 } });
    const [id] = sim.createSessions(1);
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const res = await request(`${sim.url}/v1/sessions/${id}`, RELEASE);
      const body = (await res.body.json()) as Record<string, unknown>;
      expect([500, 502, 503]).toContain(res.statusCode);
      expect(body).toEqual({ statusCode: res.statusCode, error: expect.any(String), message: expect.any(String) });
      statuses.add(res.statusCode);
    }
    expect(statuses.size).toBeGreaterThan(1);
    const noKey = await request(`${sim.url}/v1/sessions/${id}`, { method: 'GET' });
    await noKey.body.dump();
    expect(noKey.statusCode).toBe(401);
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    const stats = sim.stats();
    expect(stats.closes).toMatchObject({ calls: 30, released: 0 });
    await waitFor(() => sim.calls().filter((c) => c.fault === 'error').length >= 30, 'every faulted call in the log');
    expect(sim.calls().filter((c) => c.fault === 'error')).toHaveLength(30);
    await sim.close();
  });

  it('resetRate 1 destroys the socket: the client sees a socket error and nothing is released', async () => {
    const sim = await start({ faults: { resetRate: 1 } });
    const [id] = sim.createSessions(1);
    const err = await request(`${sim.url}/v1/sessions/${id}`, RELEASE).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(String((err as { code?: string }).code)).toMatch(/UND_ERR_SOCKET|ECONNRESET/);
    await waitFor(() => sim.stats().requests.inFlight === 0, 'request end');
    expect(sim.stats().requests).toMatchObject({ total: 1, resets: 1, byStatus: {} });
    expect(sim.calls()).toEqual([expect.objectContaining({ method: 'POST', status: 0, fault: 'reset' })]);
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    sim.setFaults({ resetRate: 0 });
    const ok = await request(`${sim.url}/v1/sessions/${id}`, RELEASE);
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
    await sim.close();
  });

  it('hangRate 1 never answers: the client times out, and in-flight requests count until they end', async () => {
    const sim = await start({ faults: { hangRate: 1 } });
    const [id] = sim.createSessions(1);
    const clients = Array.from({ length: 4 }, () => track(new Client(sim.url, { headersTimeout: 300 }), 'undici client'));
    const results = await Promise.allSettled(clients.map((c) => c.request({ path: `/v1/sessions/${id}`, ...RELEASE })));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(errors.HeadersTimeoutError);
    }
    await waitFor(() => sim.stats().requests.inFlight === 0, 'hung requests to end');
    const stats = sim.stats();
    expect(stats.requests).toMatchObject({ total: 4, hangs: 4, aborted: 0, byStatus: {} });
    expect(stats.maxInFlight).toBe(4);
    expect(sim.getSession(id!)?.status).toBe('RUNNING');
    for (const c of clients) await c.close();
    await sim.close();
  });

  it('latencyMs delays answers by at least its minimum', async () => {
    const sim = await start({ faults: { latencyMs: [40, 60] } });
    const res = await request(`${sim.url}/v1/sessions`, { headers: KEY });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    const [c] = sim.calls();
    expect(c).toMatchObject({ status: 200, fault: 'latency' });
    expect(c!.durationMs).toBeGreaterThanOrEqual(39);
    await sim.close();
  });

  it('close() does not hang on a hanging request or a long injected latency', async () => {
    const sim = await start({ faults: { hangRate: 1 } });
    const hung = request(`${sim.url}/v1/sessions`, { headers: KEY }).then(
      () => 'answered',
      () => 'socket error',
    );
    await waitFor(() => sim.stats().requests.hangs === 1, 'the hang');
    sim.setFaults({ hangRate: 0, latencyMs: [600_000, 600_000] });
    const slow = request(`${sim.url}/v1/sessions`, { headers: KEY }).then(
      () => 'answered',
      () => 'socket error',
    );
    await waitFor(() => sim.stats().requests.inFlight === 2, 'the slow request');
    const closed = sim.close().then(() => 'closed');
    const timeout = new Promise((r) => setTimeout(() => r('close() hung'), 10_000).unref());
    expect(await Promise.race([closed, timeout])).toBe('closed');
    expect(await hung).toBe('socket error');
    expect(await slow).toBe('socket error');
    expect(await sim.close().then(() => 'again')).toBe('again');
  });

  it('validates faults set at run time and names the bad field', async () => {
    const sim = await start();
    expect(() => sim.setFaults({ errorRate: 1.5 })).toThrow(SimulatorInputError);
    expect(() => sim.setFaults({ errorRate: 1.5 })).toThrow(/errorRate/);
    expect(() => sim.setFaults({ latencyMs: [10, 5] })).toThrow(/latencyMs/);
    expect(() => sim.setFaults({ closeFinished: '500' as '200' })).toThrow(/closeFinished/);
    expect(() => sim.setRate(-1)).toThrow(/rate/);
    sim.setFaults({ hangRate: 0.5 });
    expect(() => sim.setFaults({ hangRate: 0.2, resetRate: 7 })).toThrow(/resetRate/);
    const faults = (await (await fetch(`${sim.url}/_sim/faults`)).json()) as Record<string, unknown>;
    expect(faults).toMatchObject({ hangRate: 0.5, resetRate: 0, errorRate: 0, latencyMs: [0, 0], closeFinished: '200', rate: 0 });
    await sim.close();
  });
});
