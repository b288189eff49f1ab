import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { readWorkerHeartbeats } from '../worker/heartbeat.js';

export interface HealthOptions {
  redis: Redis;
  prefix: string;
  /** A worker heartbeat must be at most this old for `/readyz`, ms. */
  heartbeatMaxAgeMs: number;
  /** How long `/readyz` waits for Redis to answer PING, ms. Default 2000. */
  redisTimeoutMs?: number;
}

/** Resolves with the value, or rejects after `ms` (the timer never keeps the process alive). */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why the pipeline is not ready, or undefined when it is: Redis answers PING and at least one
 * worker wrote a heartbeat within the window.
 */
export async function readinessProblem({ redis, prefix, heartbeatMaxAgeMs, redisTimeoutMs = 2000 }: HealthOptions): Promise<{ reason: string; workers: number } | { workers: number; reason?: undefined }> {
  try {
    await withTimeout(redis.ping(), redisTimeoutMs, 'Redis');
  } catch (err) {
    return { reason: `Redis unreachable: ${err instanceof Error ? err.message : String(err)}`, workers: 0 };
  }
  const beats = await withTimeout(readWorkerHeartbeats(redis, prefix), redisTimeoutMs, 'Redis');
  const now = Date.now();
  const alive = beats.filter((b) => now - b.lastSeen <= heartbeatMaxAgeMs).length;
  if (alive > 0) return { workers: alive };
  const newest = beats[0];
  const seen = newest ? `the last one ${Math.round((now - newest.lastSeen) / 1000)} s ago (${newest.id})` : 'none ever';
  return { reason: `no worker heartbeat within ${Math.round(heartbeatMaxAgeMs / 1000)} s: ${seen}`, workers: 0 };
}

/** `/healthz`: the process is up. `/readyz`: Redis reachable and a worker alive, else 503 with the reason. */
export function registerHealthRoutes(app: FastifyInstance, options: HealthOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = await readinessProblem(options);
    if (r.reason !== undefined) return reply.code(503).send({ status: 'unavailable', reason: r.reason });
    return { status: 'ready', workers: r.workers };
  });
}
