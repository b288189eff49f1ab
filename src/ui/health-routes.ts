import type { FastifyInstance } from 'fastify';
import type { Redis } from '../shared/redis.js';
import { checkReadiness } from '../ops/readiness.js';

export interface HealthOptions {
  redis: Redis;
  prefix: string;
  /** A worker heartbeat must be at most this old for `/readyz`, ms. */
  heartbeatMaxAgeMs: number;
  /** How long `/readyz` waits for Redis to answer PING, ms. Default 2000. */
  redisTimeoutMs?: number;
}

/**
 * `/healthz`: the process is up. `/readyz`: Redis reachable and a worker alive by the one liveness
 * rule (`ops/readiness.ts`, which `stats` shares), else 503 with the reason.
 */
export function registerHealthRoutes(app: FastifyInstance, options: HealthOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = await checkReadiness(options);
    if (r.reason !== undefined) return reply.code(503).send({ status: 'unavailable', reason: r.reason });
    return { status: 'ready', workers: r.workers };
  });
}
