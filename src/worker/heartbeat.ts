import { hostname } from 'node:os';
import type { Redis } from '../shared/redis.js';
import { keys } from '../shared/names.js';

/** How often a worker process records that it is alive (ms). */
export const HEARTBEAT_INTERVAL_MS = 5_000;

export function workerId(): string {
  return `${hostname()}:${process.pid}`;
}

/** Records this process in `<prefix>:workers` now and every 5 s until stopped. */
export function startHeartbeat(redis: Redis, prefix: string, id = workerId()): { stop(): Promise<void> } {
  const key = keys(prefix).workerHeartbeat;
  const beat = () => redis.hset(key, id, Date.now()).catch(() => {});
  void beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis.hdel(key, id).catch(() => {});
    },
  };
}

/** Worker processes with their last heartbeat (ms epoch), most recent first. */
export async function readWorkerHeartbeats(redis: Redis, prefix: string): Promise<Array<{ id: string; lastSeen: number }>> {
  const h = await redis.hgetall(keys(prefix).workerHeartbeat);
  return Object.entries(h)
    .map(([id, v]) => ({ id, lastSeen: Number(v) }))
    .sort((a, b) => b.lastSeen - a.lastSeen);
}
