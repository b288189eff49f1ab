import { describe, expect, it } from 'vitest';
import { readCounters, metricsKey } from '../../src/metrics/counters.js';
import { renderMetrics, type MetricsSnapshot } from '../../src/metrics/exposition.js';
import { createMetricsRecorder } from '../../src/metrics/recorder.js';
import { createRedis } from '../../src/shared/redis.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { startRedisServer } from '../helpers/redis-server.js';

const idle = { waiting: 0, active: 0, delayed: 0, failed: 0, dead: 0 };

describe('metrics recorder', () => {
  it('sums the counts of several worker processes in Redis and renders them as valid Prometheus text', async () => {
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const prefix = uniquePrefix('metrics');
    const a = createMetricsRecorder({ redis, prefix, flushIntervalMs: 0 });
    const b = createMetricsRecorder({ redis, prefix, flushIntervalMs: 0 });
    a.closeOutcome('closed');
    a.closeOutcome('closed');
    b.closeOutcome('closed');
    b.closeOutcome('dead_lettered');
    b.closeOutcome('already_gone');
    a.apiResponse(200, 3);
    a.apiResponse(200, 7);
    b.apiResponse(429, 40);
    b.apiResponse(404, 120);
    b.apiResponse('error', 20_000);
    a.retry('TRANSIENT');
    b.retry('TRANSIENT');
    b.retry('not a code');
    a.rateLimited(1500);
    a.rateLimited();
    await Promise.all([a.close(), b.close()]);

    const counters = await readCounters(redis, prefix);
    expect(counters.closes).toEqual({ closed: 3, already_gone: 1, verified: 0, dead_lettered: 1 });
    expect(counters.responses).toEqual({ '200': 2, '429': 1, '404': 1, error: 1 });
    expect(counters.retries).toEqual({ TRANSIENT: 2, OTHER: 1 });
    expect(counters.rateLimited).toBe(2);
    expect(counters.latency.count).toBe(5);
    expect(counters.latency.sum).toBeCloseTo(0.003 + 0.007 + 0.04 + 0.12 + 20, 6);

    const snapshot: MetricsSnapshot = { counters, queues: { ...idle, waiting: 4, dead: 1 }, limiter: null, workers: 2, now: Date.now() };
    const { body, contentType } = await renderMetrics(snapshot);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(body);
    expect(families.get('bb_reaper_closes_total')?.type).toBe('counter');
    expect(families.get('bb_reaper_api_request_duration_seconds')?.type).toBe('histogram');
    expect(sampleValue(families, 'bb_reaper_closes_total', { account: 'default', outcome: 'closed' })).toBe(3);
    expect(sampleValue(families, 'bb_reaper_closes_total', { account: 'default', outcome: 'verified' })).toBe(0);
    expect(sampleValue(families, 'bb_reaper_api_responses_total', { account: 'default', status: '429' })).toBe(1);
    expect(sampleValue(families, 'bb_reaper_retries_total', { account: 'default', code: 'TRANSIENT' })).toBe(2);
    expect(sampleValue(families, 'bb_reaper_rate_limited_total', { account: 'default' })).toBe(2);
    expect(sampleValue(families, 'bb_reaper_rate_limited_wait_seconds_total', { account: 'default' })).toBe(1.5);
    // 3 ms and 7 ms fall in the 5 ms and 10 ms buckets; 20 s only in +Inf.
    const bucket = (le: string) => sampleValue(families, 'bb_reaper_api_request_duration_seconds_bucket', { account: 'default', le });
    expect([bucket('0.005'), bucket('0.01'), bucket('0.05'), bucket('0.25'), bucket('10'), bucket('+Inf')]).toEqual([1, 2, 3, 4, 4, 5]);
    expect(sampleValue(families, 'bb_reaper_queue_jobs', { account: 'default', state: 'waiting' })).toBe(4);
    expect(sampleValue(families, 'bb_reaper_queue_jobs', { account: 'default', state: 'dead' })).toBe(1);
    expect(sampleValue(families, 'bb_reaper_workers')).toBe(2);
    expect(sampleValue(families, 'bb_reaper_limiter_paused', { account: 'default' })).toBe(0);

    await redis.del(metricsKey(prefix));
    await redis.quit();
  });

  it('keeps counts a failed flush could not write and writes them once Redis is back', async () => {
    const server = track(await startRedisServer({ appendOnly: true }), 'redis-server');
    const redis = trackRedis(createRedis(server.url, { role: 'producer' }));
    const prefix = uniquePrefix('metrics-down');
    const recorder = createMetricsRecorder({ redis, prefix, flushIntervalMs: 0 });
    recorder.closeOutcome('closed');
    await recorder.flush();
    await server.stop();
    recorder.closeOutcome('closed');
    recorder.apiResponse(200, 12);
    await expect(recorder.flush()).rejects.toThrow();
    await server.start();
    // The connection reconnects on its own; flush until it is back.
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await recorder.flush();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const counters = await readCounters(redis, prefix);
    expect(counters.closes.closed).toBe(2);
    expect(counters.responses).toEqual({ '200': 1 });
    await recorder.close();
    await redis.quit();
    await server.close();
  });

  it('shows the limiter as paused while pausedUntil is in the future', async () => {
    const now = Date.now();
    const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    const counters = await readCounters(redis, uniquePrefix('empty'));
    await redis.quit();
    const limiter = { configuredRate: 25, effectiveRate: 12.5, concurrency: 25, pausedUntil: now + 5000, last429At: now - 10 };
    const families = parsePrometheusText((await renderMetrics({ counters, queues: idle, limiter, workers: 1, now })).body);
    expect(sampleValue(families, 'bb_reaper_limiter_paused', { account: 'default' })).toBe(1);
    expect(sampleValue(families, 'bb_reaper_limiter_effective_rate', { account: 'default' })).toBe(12.5);
    expect(sampleValue(families, 'bb_reaper_limiter_paused_until_seconds', { account: 'default' })).toBe((now + 5000) / 1000);
    expect(sampleValue(families, 'bb_reaper_closes_total', { account: 'default', outcome: 'closed' })).toBe(0);
    expect(sampleValue(families, 'bb_reaper_api_request_duration_seconds_count', { account: 'default' })).toBe(0);
  });

  it('rejects a bad flush interval with a message naming it', () => {
    const redis = {} as Parameters<typeof createMetricsRecorder>[0]['redis'];
    expect(() => createMetricsRecorder({ redis, prefix: 'x', flushIntervalMs: -1 })).toThrow(/`flushIntervalMs`.*`-1`/);
  });
});
