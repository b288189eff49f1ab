import { randomUUID } from 'node:crypto';
import type { Redis } from '../../src/shared/redis.js';
import { inject } from 'vitest';

/** The run's Redis (a private redis-server, or REDIS_URL). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A fresh key prefix for one test: nothing it writes collides with any other test. */
export function uniquePrefix(label = 't'): string {
  return `bbr-test-${label}-${randomUUID().slice(0, 8)}`;
}

interface Tracked {
  name: string;
  close: () => Promise<unknown>;
  /** Set for resources that may still be finishing a close the test started (e.g. `quit()`). */
  closing?: () => boolean;
}

const open = new Set<Tracked>();

/**
 * Registers something a test opened (server, worker, connection) so the global after-each check
 * fails the test if it is still open at the end. Returns the resource; closing it through its own
 * `close()` unregisters it.
 */
export function track<T extends { close: () => Promise<unknown> }>(resource: T, name = resource.constructor?.name ?? 'resource'): T {
  const original = resource.close.bind(resource);
  const entry: Tracked = { name, close: original };
  open.add(entry);
  resource.close = (async (...args: unknown[]) => {
    open.delete(entry);
    return (original as (...a: unknown[]) => Promise<unknown>)(...args);
  }) as T['close'];
  return resource;
}

/**
 * Registers an ioredis connection: it counts as closed once it emits `end` (after `quit()` or
 * `disconnect()`).
 */
export function trackRedis<T extends Redis>(redis: T, name = 'redis connection'): T {
  const entry: Tracked = {
    name,
    close: async () => redis.disconnect(),
    closing: () => true,
  };
  open.add(entry);
  redis.once('end', () => open.delete(entry));
  return redis;
}

/** Names of tracked resources still open; used by the leak check. Closes them too. */
export async function closeLeaked(): Promise<string[]> {
  // Connections closed with quit() finish a moment later: give them up to a second to end.
  const deadline = Date.now() + 1000;
  while ([...open].some((e) => e.closing !== undefined) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const names = [...open].map((e) => e.name);
  for (const entry of [...open]) {
    open.delete(entry);
    try {
      await entry.close();
    } catch {
      // already broken; it is reported as a leak anyway
    }
  }
  return names;
}
