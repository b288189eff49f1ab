import { describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { createMetricsRecorder } from '../../src/metrics/index.js';
import { createRedis } from '../../src/shared/redis.js';
import { resolveConfig } from '../../src/config/index.js';
import { createUiServer } from '../../src/ui/index.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startPipeline, testLogger, waitFor } from '../helpers/pipeline.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prometheus-text.js';
import { send, startUi, UI_PASSWORD, UI_USER } from '../helpers/ui-fixture.js';

const KEY = 'bb_live_metrics-key-7f3c9a1e5d';
const WRONG_KEY = 'bb_live_wrong-key-0b8e2d4f6a';

async function scrape(url: string): Promise<Map<string, Family>> {
  const r = await send(`${url}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(r.body);
}

describe('/metrics', () => {
  it('sums every worker process and matches what the simulator saw (closes, statuses, 429s, retries, dead letters, latency)', async () => {
    const pipe = await startPipeline({ sim: { apiKeys: [KEY], rate: 30, burst: 5, faults: { errorRate: 0.15 } }, config: { rate: 60, concurrency: 10, attempts: 30, backoffMs: 20 } });
    const ui = await startUi({ prefix: pipe.prefix });
    const redis = trackRedis(createRedis(testRedisUrl()));
    // Two worker "processes", each with its own recorder: one with a wrong key (everything dead-letters), then one with the right key.
    const dead = pipe.sim.createSessions(4);
    // Wired as the worker service does: the client's onResponse hook feeds the recorder.
    const m1 = createMetricsRecorder({ redis, prefix: pipe.prefix, flushIntervalMs: 200 });
    const wrong = track(createBrowserbaseClient({ apiKey: WRONG_KEY, baseUrl: pipe.sim.url, onResponse: (r) => m1.apiResponse(r.status, r.durationMs) }), 'client');
    const w1 = await pipe.startWorker({ client: wrong, metrics: m1 });
    await pipe.producer.closeSessions(dead);
    await waitFor('4 dead letters', async () => (await pipe.producer.queues.deadLetterQueue.getJobCounts('failed')).failed === 4);
    await w1.close();
    await wrong.close();
    pipe.sim.setFaults({ errorRate: 0.15 });

    const ids = pipe.sim.createSessions(80);
    const m2 = createMetricsRecorder({ redis, prefix: pipe.prefix, flushIntervalMs: 200 });
    const right = track(createBrowserbaseClient({ apiKey: KEY, baseUrl: pipe.sim.url, onResponse: (r) => m2.apiResponse(r.status, r.durationMs) }), 'client');
    const w2 = await pipe.startWorker({ client: right, metrics: m2 });
    await pipe.producer.closeSessions(ids);
    await waitFor('80 closes', () => pipe.sim.stats().closes.released === 80);
    const live = await scrape(ui.url);
    expect(sampleValue(live, 'bb_reaper_workers')).toBe(1);
    expect(sampleValue(live, 'bb_reaper_limiter_configured_rate', { account: 'default' })).toBe(60);
    expect(sampleValue(live, 'bb_reaper_limiter_concurrency', { account: 'default' })).toBe(10);
    await w2.close(); // flushes its recorder
    await right.close();

    // A request is counted on arrival but its status (and its call-log entry) when its response's
    // socket write ends, which can come after the client has the answer: wait until every request is logged.
    await waitFor('every request answered in the call log', () => pipe.sim.calls().length === pipe.sim.stats().requests.total, 10_000);
    const sim = pipe.sim.stats();
    const m = await scrape(ui.url);
    expect(sampleValue(m, 'bb_reaper_closes_total', { account: 'default', outcome: 'closed' })).toBe(sim.closes.released);
    expect(sampleValue(m, 'bb_reaper_closes_total', { account: 'default', outcome: 'dead_lettered' })).toBe(4);
    expect(sampleValue(m, 'bb_reaper_queue_jobs', { account: 'default', state: 'dead' })).toBe(4);
    expect(sampleValue(m, 'bb_reaper_queue_jobs', { account: 'default', state: 'waiting' })).toBe(0);
    expect(sampleValue(m, 'bb_reaper_workers')).toBe(0);
    // Responses by status: exactly what the simulator answered, request by request (the closes
    // and the GET that follows each refused close), recorded by the client's onResponse hook.
    const calls = pipe.sim.calls();
    const countByStatus = (method?: string) => {
      const out: Record<string, number> = {};
      for (const c of calls.filter((c) => method === undefined || c.method === method)) out[String(c.status)] = (out[String(c.status)] ?? 0) + 1;
      return out;
    };
    const posts = countByStatus('POST');
    expect(calls).toHaveLength(sim.requests.total);
    expect(countByStatus('GET')).toEqual({ '401': 4 });
    const byStatus = Object.fromEntries(m.get('bb_reaper_api_responses_total')!.samples.map((s) => [s.labels.status, s.value]));
    expect(byStatus).toEqual(countByStatus());
    expect(byStatus).toEqual(Object.fromEntries(Object.entries(sim.requests.byStatus).map(([k, v]) => [k, v])));
    expect(posts['401']).toBe(4);
    expect(posts['200']).toBe(80);
    expect(posts['429'] ?? 0).toBeGreaterThan(0);
    const fiveXx = Object.entries(posts).filter(([s]) => s.startsWith('5')).reduce((a, [, n]) => a + n, 0);
    expect(fiveXx).toBeGreaterThan(0);
    expect(sampleValue(m, 'bb_reaper_rate_limited_total', { account: 'default' })).toBe(posts['429']);
    expect(sampleValue(m, 'bb_reaper_retries_total', { account: 'default', code: 'TRANSIENT' })).toBe(fiveXx);
    expect(sampleValue(m, 'bb_reaper_api_request_duration_seconds_count', { account: 'default' })).toBe(sim.requests.total);
    expect(sampleValue(m, 'bb_reaper_api_request_duration_seconds_bucket', { account: 'default', le: '+Inf' })).toBe(sim.requests.total);

    await redis.quit();
    await ui.server.close();
    await pipe.producer.close();
    await pipe.client.close();
    await pipe.sim.close();
  });

  it('shows no API key in any page or answer of the UI', async () => {
    const pipe = await startPipeline({ sim: { apiKeys: [KEY] } });
    const ui = await startUi({ prefix: pipe.prefix, credentials: true });
    const auth = { authorization: `Bearer ${ui.config.uiPassword!}` };
    const redis = trackRedis(createRedis(testRedisUrl()));
    // A dead letter made with a wrong key, a completed close made with the right one.
    const wrong = track(createBrowserbaseClient({ apiKey: WRONG_KEY, baseUrl: pipe.sim.url }), 'client');
    const w1 = await pipe.startWorker({ client: wrong, metrics: createMetricsRecorder({ redis, prefix: pipe.prefix }) });
    const [deadId, okId] = pipe.sim.createSessions(2);
    await pipe.producer.closeSession(deadId!);
    await waitFor('a dead letter', async () => (await pipe.producer.queues.deadLetterQueue.getJobCounts('failed')).failed === 1);
    await w1.close();
    await wrong.close();
    const right = track(createBrowserbaseClient({ apiKey: KEY, baseUrl: pipe.sim.url }), 'client');
    const w2 = await pipe.startWorker({ client: right, metrics: createMetricsRecorder({ redis, prefix: pipe.prefix }) });
    await pipe.producer.closeSession(okId!);
    await waitFor('the close', () => pipe.sim.stats().closes.released === 1);

    const paths = ['/ui', '/metrics', '/readyz', '/healthz', '/api/stats', '/api/dlq', '/ui/api/queues', '/ui/api/redis/stats'];
    for (const queue of ['close', 'dead-letter']) {
      for (const status of ['latest', 'completed', 'failed', 'waiting']) paths.push(`/ui/api/queues?activeQueue=${queue}&status=${status}&page=1&jobsPerPage=50`);
    }
    const dlq = (await send(`${ui.url}/api/dlq`, { headers: auth })).json<{ items: Array<{ id: string }> }>();
    const completed = await pipe.producer.queues.closeQueue.getCompleted();
    for (const id of dlq.items.map((i) => i.id)) paths.push(`/ui/api/queues/dead-letter/${encodeURIComponent(id)}`, `/ui/api/queues/dead-letter/${encodeURIComponent(id)}/logs`);
    for (const job of completed) paths.push(`/ui/api/queues/close/${encodeURIComponent(job.id!)}`, `/ui/api/queues/close/${encodeURIComponent(job.id!)}/logs`);
    expect(dlq.items).toHaveLength(1);
    expect(completed).toHaveLength(1);
    let bytes = 0;
    for (const path of paths) {
      const r = await send(`${ui.url}${path}`, { headers: auth });
      expect(r.status, path).toBeLessThan(400);
      for (const secret of [KEY, WRONG_KEY, 'metrics-key-7f3c9a1e5d', 'wrong-key-0b8e2d4f6a']) expect(r.body, path).not.toContain(secret);
      bytes += r.body.length;
    }
    expect(bytes).toBeGreaterThan(10_000);
    await w2.close();
    await right.close();
    await redis.quit();
    await ui.server.close();
    await pipe.producer.close();
    await pipe.client.close();
    await pipe.sim.close();
  });

  it('scrapes with the read-only metrics token the same families the admin password sees', async () => {
    const token = 'prom-read-only-token-9b2e';
    const config = resolveConfig({
      env: { REDIS_URL: testRedisUrl(), BB_REAPER_PREFIX: uniquePrefix('metrics-token'), BB_REAPER_UI_PORT: '0', BB_REAPER_UI_USER: UI_USER, BB_REAPER_UI_PASSWORD: UI_PASSWORD, BB_REAPER_METRICS_TOKEN: token },
    });
    const server = track(createUiServer({ config, logger: testLogger() }), 'ui server');
    const url = await server.listen();
    const byToken = await send(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const byPassword = await send(`${url}/metrics`, { headers: { authorization: `Bearer ${UI_PASSWORD}` } });
    expect(byToken.status).toBe(200);
    expect(byToken.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect([...parsePrometheusText(byToken.body).keys()].sort()).toEqual([...parsePrometheusText(byPassword.body).keys()].sort());
    expect(sampleValue(parsePrometheusText(byToken.body), 'bb_reaper_queue_jobs', { account: 'default', state: 'dead' })).toBe(0);
    expect((await send(`${url}/api/stats`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    await server.close();
  });
});
