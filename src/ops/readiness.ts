import type { Redis } from '../shared/redis.js';
import { withTimeLimit } from '../shared/time-limit.js';
import { describeWindow, readWorkers, WORKER_ALIVE_WITHIN_MS } from './liveness.js';

export interface ReadinessOptions {
  redis: Redis;
  prefix: string;
  /** A worker heartbeat must be at most this old, ms. Default {@link WORKER_ALIVE_WITHIN_MS}. */
  heartbeatMaxAgeMs?: number;
  /** How long Redis may take to answer, ms. Default 2000. */
  redisTimeoutMs?: number;
}

export type Readiness = { workers: number; reason?: undefined } | { workers: 0; reason: string };

/**
 * Whether the pipeline can make progress (what `/readyz` answers): Redis answers PING within
 * `redisTimeoutMs` and at least one worker is alive by the one liveness rule. Otherwise `reason`
 * says why, e.g. `no worker heartbeat within 30 s: the last one 95 s ago (host:4711)`.
 */
export async function checkReadiness({ redis, prefix, heartbeatMaxAgeMs = WORKER_ALIVE_WITHIN_MS, redisTimeoutMs = 2000 }: ReadinessOptions): Promise<Readiness> {
  try {
    await withTimeLimit(redis.ping(), redisTimeoutMs, 'Redis');
  } catch (err) {
    return { reason: `Redis unreachable: ${err instanceof Error ? err.message : String(err)}`, workers: 0 };
  }
  const workers = await withTimeLimit(readWorkers(redis, prefix, { windowMs: heartbeatMaxAgeMs }), redisTimeoutMs, 'Redis');
  const alive = workers.filter((w) => w.alive).length;
  if (alive > 0) return { workers: alive };
  const newest = workers[0];
  const seen = newest ? `the last one ${Math.round(newest.ageMs / 1000)} s ago (${newest.id})` : 'none ever';
  return { reason: `no worker heartbeat within ${describeWindow(heartbeatMaxAgeMs)}: ${seen}`, workers: 0 };
}
