import { hostname } from 'node:os';
import type { Redis } from '../shared/redis.js';
import { DEFAULT_ACCOUNT, keys } from '../shared/names.js';

/** How often a worker process records that it is alive (ms). */
export const HEARTBEAT_INTERVAL_MS = 5_000;

export function workerId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Records this process in `<prefix>:workers` now and every 5 s until stopped, and the names of the
 * accounts it serves in `<prefix>:workers:accounts` (names only: never a key), so producers can
 * warn about a close for an account no worker serves.
 */
export function startHeartbeat(redis: Redis, prefix: string, id = workerId(), accounts: readonly string[] = [DEFAULT_ACCOUNT]): { stop(): Promise<void> } {
  const k = keys(prefix);
  const served = JSON.stringify([...accounts]);
  const beat = () => redis.hset(k.workerHeartbeat, id, Date.now()).then(() => redis.hset(k.workerAccounts, id, served)).catch(() => {});
  void beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis.hdel(k.workerHeartbeat, id).catch(() => {});
      await redis.hdel(k.workerAccounts, id).catch(() => {});
    },
  };
}

/** The accounts each worker process says it serves (worker id → names). A worker from before accounts serves `default`. */
export async function readWorkerAccounts(redis: Redis, prefix: string): Promise<Map<string, string[]>> {
  const h = await redis.hgetall(keys(prefix).workerAccounts);
  const out = new Map<string, string[]>();
  for (const [id, v] of Object.entries(h)) {
    try {
      const names = JSON.parse(v) as unknown;
      if (Array.isArray(names)) out.set(id, names.filter((n): n is string => typeof n === 'string'));
    } catch {
      // not written by a worker: ignored
    }
  }
  return out;
}

/** Worker processes with their last heartbeat (ms epoch), most recent first. */
export async function readWorkerHeartbeats(redis: Redis, prefix: string): Promise<Array<{ id: string; lastSeen: number }>> {
  const h = await redis.hgetall(keys(prefix).workerHeartbeat);
  return Object.entries(h)
    .map(([id, v]) => ({ id, lastSeen: Number(v) }))
    .sort((a, b) => b.lastSeen - a.lastSeen);
}
