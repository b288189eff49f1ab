import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startRedisServer } from '../helpers/redis-server.js';

describe('test harness', () => {
  it('gives every test a private Redis and a fresh prefix', async () => {
    const redis = trackRedis(new Redis(testRedisUrl()));
    const prefix = uniquePrefix();
    await redis.set(`${prefix}:probe`, '1');
    expect(await redis.get(`${prefix}:probe`)).toBe('1');
    expect(uniquePrefix()).not.toBe(prefix);
    await redis.del(`${prefix}:probe`);
    await redis.quit();
  });

  it('can stop and restart a private redis-server with append-only persistence', async () => {
    const server = track(await startRedisServer({ appendOnly: true }), 'redis-server');
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {});
    await client.connect();
    await client.set('k', 'v');
    await server.stop();
    await server.start();
    const again = trackRedis(new Redis(server.url));
    expect(await again.get('k')).toBe('v');
    await again.quit();
    client.disconnect();
    await server.close();
  });
});
