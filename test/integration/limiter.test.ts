import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { createGlobalLimiter } from '../../src/worker/limiter.js';
import { limiterKeys, readLimiterState } from '../../src/worker/limiter-state.js';
import { BAD_MEMORY_MS, createRateController } from '../../src/worker/rate-controller.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';

const logger = createLogger({ level: 'silent', pretty: false });

describe('global limiter', () => {
  it('regression (bottleneck#205/#219): stock Bottleneck fails for good once its settings key is gone on Redis 7; ours heals', async () => {
    const prefix = uniquePrefix('bn');
    const redis = trackRedis(new Redis(testRedisUrl()));
    // Stock clustered Bottleneck: the upstream bug, reproduced.
    const stockId = `${prefix}-stock`;
    const stock = new Bottleneck({ id: stockId, datastore: 'ioredis', clientOptions: { host: new URL(testRedisUrl()).hostname, port: Number(new URL(testRedisUrl()).port) }, maxConcurrent: 5, minTime: 1 });
    stock.on('error', () => {});
    await stock.ready();
    expect(await stock.schedule(async () => 'ok')).toBe('ok');
    await redis.del(`b_${stockId}_settings`);
    await expect(stock.schedule(async () => 'ok')).rejects.toThrow(/SETTINGS_KEY_NOT_FOUND/);
    await stock.disconnect(true);
    await redis.del(...(await redis.keys(`b_${stockId}_*`)));

    // bb-reaper's limiter on the same kind of loss keeps scheduling.
    const limiter = track(await createGlobalLimiter({ connection: redis, prefix, rate: 1000, concurrency: 5, logger }), 'limiter');
    expect(await limiter.schedule(async () => 'ok')).toBe('ok');
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.some((k) => k === `${limiterKeys(prefix).bottleneckId}_settings`)).toBe(true);
    expect(keys.every((k) => k.startsWith(prefix))).toBe(true); // every key under the prefix
    await redis.del(...keys);
    expect(await limiter.schedule(async () => 'still ok')).toBe('still ok');
    await limiter.close();
    await redis.del(...(await redis.keys(`${prefix}:*`)));
    await redis.quit();
  });

  it('caps requests in flight across limiters sharing a prefix', async () => {
    const prefix = uniquePrefix('bn');
    const a = trackRedis(new Redis(testRedisUrl()));
    const b = trackRedis(new Redis(testRedisUrl()));
    const la = track(await createGlobalLimiter({ connection: a, prefix, rate: 2000, concurrency: 3, logger }), 'limiter a');
    const lb = track(await createGlobalLimiter({ connection: b, prefix, rate: 2000, concurrency: 3, logger }), 'limiter b');
    let inFlight = 0;
    let max = 0;
    const task = async () => {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
    };
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? la : lb).schedule(task)));
    expect(max).toBeLessThanOrEqual(3);
    expect(max).toBeGreaterThanOrEqual(2);
    await la.close();
    await lb.close();
    await a.del(...(await a.keys(`${prefix}:*`)));
    await a.quit();
    await b.quit();
  });

  it('a 429 pauses everyone and lowers the rate to what the server admitted; recovery stays below the failed rate', async () => {
    const prefix = uniquePrefix('rc');
    const redis = trackRedis(new Redis(testRedisUrl()));
    let now = 1_000_000_000_000;
    const rc = createRateController(redis, prefix, () => now);
    await rc.init(200, 10);
    // the server admitted ~50/s in the last seconds
    for (const s of [1, 2, 3]) await rc.addOk(Math.floor(now / 1000) - s, 50);
    const after = await rc.on429(1000);
    expect(after.pausedUntil).toBe(now + 1000);
    expect(after.effectiveRate).toBeCloseTo(47.5);
    expect(after.rateLimitedTotal).toBe(1);
    // more 429s within the cool-down do not cut again
    expect((await rc.on429(1000)).effectiveRate).toBeCloseTo(47.5);
    // recovery: nothing for 2 s after the last 429, then at most one step a second
    now += 1000;
    expect((await rc.tick()).effectiveRate).toBeCloseTo(47.5);
    let rate = 0;
    for (let i = 0; i < BAD_MEMORY_MS / 1000 - 3; i++) {
      now += 1000;
      rate = (await rc.tick()).effectiveRate;
    }
    // climbed back, but for a while stays under 97% of the rate that drew the 429
    expect(rate).toBeGreaterThan(100);
    expect(rate).toBeLessThanOrEqual(200 * 0.97);
    for (let i = 0; i < 30; i++) {
      now += 1000;
      rate = (await rc.tick()).effectiveRate;
    }
    expect(rate).toBe(200); // then probes up to the configured rate again
    const read = await readLimiterState(redis, prefix);
    expect(read?.configuredRate).toBe(200);
    await redis.del(...(await redis.keys(`${prefix}:*`)));
    await redis.quit();
  });
});
