import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { createGlobalLimiter, LimiterStoppedError, type GlobalLimiter } from '../../src/worker/limiter.js';
import { limiterKeys, readLimiterState } from '../../src/worker/limiter-state.js';
import { BAD_MEMORY_MS, createRateController } from '../../src/worker/rate-controller.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

const logger = createLogger({ level: 'silent', pretty: false });

describe('global limiter', () => {
  it('regression (bottleneck#205/#219): stock clustered Bottleneck fails for good once its settings key is gone on Redis 7; ours keeps no Bottleneck state in Redis and heals', async () => {
    const prefix = uniquePrefix('bn');
    const redis = trackRedis(new Redis(testRedisUrl()));
    // Stock clustered Bottleneck: the upstream bug, reproduced (why bb-reaper's Bottleneck is local).
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
    expect(keys).toContain(limiterKeys(prefix).state);
    expect(keys.every((k) => k.startsWith(`${prefix}:limiter:`))).toBe(true); // every key under the prefix, one family
    await redis.del(...keys);
    expect(await limiter.schedule(async () => 'still ok')).toBe('still ok');
    expect((await readLimiterState(redis, prefix))?.configuredRate).toBe(1000); // state written back
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

describe('limiter shares: rate tokens in windows, slots in leases', () => {
  const base = { leaseTtlMs: 5000, configuredRate: 100, concurrency: 10, batchMs: 100, horizonMs: 1000 };

  it('grants windows of one shared schedule, sized to the rate: a process that dies holding unspent tokens leaves its window unused, never handed out again', async () => {
    const prefix = uniquePrefix('gcra');
    const redis = trackRedis(new Redis(testRedisUrl()));
    let server = 5_000_000; // the Redis server's clock, ms
    const rc = createRateController(redis, prefix, () => server);
    await rc.init(100, 10);
    const ask = (holder: string, wantTokens: number) => rc.sync({ ...base, holder, wantTokens, wantSlots: 1, inUse: 0 });
    // 100/s, 100 ms batches: at most 10 tokens, 10 ms apart, from the first free slot on
    const a = await ask('a', 50);
    expect(a.grant).toEqual({ startInMs: 0, count: 10, intervalMs: 10 });
    // a dies here with all 10 unspent; b asks at once: its window starts where a's ends
    const b = await ask('b', 3);
    expect(b.grant).toEqual({ startInMs: 100, count: 3, intervalMs: 10 });
    // later, after a's window has passed unused: still nothing of it is handed out again
    server += 60;
    expect((await ask('b', 10)).grant).toEqual({ startInMs: 70, count: 10, intervalMs: 10 }); // 5_000_130
    // an idle schedule does not bank tokens: after a quiet second the next window starts now
    server += 2000;
    expect((await ask('b', 2)).grant?.startInMs).toBe(0);
    // the schedule is handed out at most `horizonMs` ahead; beyond, nothing, and when to ask again
    for (let i = 0; i < 10; i++) await ask('c', 10);
    const full = await ask('d', 10);
    expect(full.grant).toBeUndefined();
    expect(full.retryInMs).toBeGreaterThan(0);
    // a 429 pauses the schedule: no window starts inside the pause
    await redis.hset(limiterKeys(prefix).state, 'tat', String(server)); // (reset the look-ahead)
    await rc.on429(500);
    expect((await ask('e', 1)).grant?.startInMs).toBeGreaterThanOrEqual(500);
    await redis.del(...Object.values(limiterKeys(prefix)));
    await redis.quit();
  });

  it('splits the concurrency fairly in leased shares, never more in all than configured, and an expired lease gives its slots back', async () => {
    const prefix = uniquePrefix('lease');
    const redis = trackRedis(new Redis(testRedisUrl()));
    let server = 9_000_000;
    const rc = createRateController(redis, prefix, () => server);
    await rc.init(100, 10);
    const lease = async (holder: string, wantSlots: number, inUse: number) => (await rc.sync({ ...base, holder, wantTokens: 0, wantSlots, inUse })).slots;
    expect(await lease('a', 50, 0)).toBe(10); // alone: everything it wants, capped at the concurrency
    expect(await lease('b', 50, 0)).toBe(0); // a holds all 10: none is handed out twice
    expect(await lease('a', 50, 10)).toBe(5); // a's fair share is now 5 (it still holds 10 in flight)
    expect(await lease('b', 50, 0)).toBe(0); // ...until its requests end
    expect(await lease('a', 50, 5)).toBe(5);
    expect(await lease('b', 50, 0)).toBe(5);
    expect(await lease('c', 2, 0)).toBe(0); // all 10 held; c wants 2 -> a and b shrink to 4 each
    expect(await lease('a', 50, 4)).toBe(4);
    expect(await lease('b', 50, 4)).toBe(4);
    expect(await lease('c', 2, 0)).toBe(2);
    // b is killed (stops renewing); a renews, b's lease expires 5 s after its last renewal
    server += 3000;
    expect(await lease('a', 50, 4)).toBe(4);
    expect(await lease('c', 2, 2)).toBe(2);
    server += 2001;
    expect(await lease('a', 50, 4)).toBe(8); // b's 4 slots are back, shared with c
    expect(await lease('c', 2, 2)).toBe(2);
    const held = await redis.hgetall(limiterKeys(prefix).leases);
    expect(Object.keys(held).sort()).toEqual(['a', 'c']);
    // a process with nothing to do holds no lease
    expect(await lease('c', 0, 0)).toBe(0);
    expect(Object.keys(await redis.hgetall(limiterKeys(prefix).leases))).toEqual(['a']);
    await redis.del(...Object.values(limiterKeys(prefix)));
    await redis.quit();
  });

  it('holds the rate in aggregate across limiters, also when one stops mid-window without giving back what it was granted (as if killed)', async () => {
    const prefix = uniquePrefix('agg');
    const R = 200;
    const conns = [0, 1, 2].map(() => trackRedis(new Redis(testRedisUrl())));
    const limiters = await Promise.all(conns.map((c) => createGlobalLimiter({ connection: c, prefix, rate: R, concurrency: 20, logger })));
    const starts: number[] = [];
    const task = async () => {
      starts.push(Date.now());
      await new Promise((r) => setImmediate(r));
    };
    const [victim, ...rest] = limiters as [GlobalLimiter, GlobalLimiter, GlobalLimiter];
    let victimStarts = 0;
    const victimWork = Array.from({ length: 200 }, () => victim.schedule(() => (victimStarts++, task())).catch((e: unknown) => e));
    const restWork = Array.from({ length: 400 }, (_, i) => (rest[i % 2] as GlobalLimiter).schedule(task));
    await waitFor('the victim started some', () => starts.length >= 60, 30_000, 5);
    await victim.stop(); // no last sync: its windows and lease stay behind in Redis
    const dropped = (await Promise.all(victimWork)).filter((e) => e instanceof LimiterStoppedError).length;
    await Promise.all(restWork);
    expect(victimStarts + dropped).toBe(200);
    expect(victimStarts).toBeLessThan(200); // it did stop mid-drain
    starts.sort((x, y) => x - y);
    let busiest = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while ((starts[i] as number) - (starts[j] as number) >= 1000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    const seconds = ((starts.at(-1) as number) - (starts[0] as number)) / 1000;
    console.log(`limiters at ${R}/s, one stopped mid-drain: ${starts.length} starts in ${seconds.toFixed(2)} s, busiest second ${busiest}`);
    // the limit, plus the grace a late token may still be spent in (100 ms of the rate), plus rounding
    expect(busiest).toBeLessThanOrEqual(R + R / 10 + 3);
    expect(starts).toHaveLength(400 + victimStarts);
    for (const l of rest) await l.close();
    await victim.close();
    await conns[0]?.del(...Object.values(limiterKeys(prefix)));
    for (const c of conns) await c.quit();
  }, 60_000);

  it("a killed limiter's slots come back when its lease expires, not before", async () => {
    const prefix = uniquePrefix('killed');
    const a = trackRedis(new Redis(testRedisUrl()));
    const b = trackRedis(new Redis(testRedisUrl()));
    const la = await createGlobalLimiter({ connection: a, prefix, rate: 1000, concurrency: 2, logger, slotExpirationMs: 1500 });
    const lb = await createGlobalLimiter({ connection: b, prefix, rate: 1000, concurrency: 2, logger, slotExpirationMs: 1500 });
    const release: Array<() => void> = [];
    let aRunning = 0;
    const aWork = [0, 1].map(() => la.schedule(() => new Promise<void>((r) => (aRunning++, release.push(r)))));
    await waitFor('a holds both slots', () => aRunning === 2, 30_000, 5);
    // a dies: its requests vanish with it, its lease stays behind (no last sync)
    for (const r of release) r();
    await Promise.all(aWork);
    await la.stop();
    let bStarted = false;
    const bWork = lb.schedule(async () => {
      bStarted = true;
    });
    const leases = () => a.hgetall(limiterKeys(prefix).leases);
    // while a's lease lives, b gets no slot
    await waitFor('b has synced while a holds the lease', async () => Object.keys(await leases()).length === 2, 30_000, 5);
    expect(bStarted).toBe(false);
    await bWork;
    // b started only once a's lease had expired and been dropped
    expect(Object.keys(await leases())).toHaveLength(1);
    await lb.close();
    await la.close();
    await a.del(...Object.values(limiterKeys(prefix)));
    await a.quit();
    await b.quit();
  }, 60_000);
});
