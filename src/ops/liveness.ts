/**
 * The one liveness rule for worker processes, used by everyone who asks "is a worker running?":
 * `stats` (and `stats --healthcheck`), the CLI's "no worker is running" warning, `/api/stats`,
 * `/metrics` (`bb_reaper_workers`) and `/readyz`.
 *
 * A worker is alive when its last heartbeat is at most {@link WORKER_ALIVE_WITHIN_MS} old. Workers
 * beat every 5 s (`HEARTBEAT_INTERVAL_MS`); 30 s is six missed beats, and it is BullMQ's job lock
 * duration: a worker silent for longer has lost its jobs to the others anyway. A shorter window
 * would call a worker dead during a Redis failover or a long GC pause while it still owns its jobs.
 */
import type { Redis } from '../shared/redis.js';
import { DEFAULT_ACCOUNT } from '../shared/names.js';
import { HEARTBEAT_INTERVAL_MS, readWorkerAccounts, readWorkerHeartbeats } from '../worker/heartbeat.js';

/** A worker is alive while its last heartbeat is at most this old, ms. */
export const WORKER_ALIVE_WITHIN_MS = 30_000;

export { HEARTBEAT_INTERVAL_MS };

export interface WorkerStatus {
  /** `<hostname>:<pid>` */
  id: string;
  /** Last heartbeat, ms since the epoch. */
  lastSeen: number;
  /** How long ago, ms. */
  ageMs: number;
  /** Heartbeat within the liveness window. */
  alive: boolean;
  /** Names of the accounts it serves (`default` for a worker from before accounts). */
  accounts: string[];
}

/** The rule: true when a heartbeat at `lastSeen` is at most `windowMs` old at `now`. */
export function isWorkerAlive(lastSeen: number, now = Date.now(), windowMs = WORKER_ALIVE_WITHIN_MS): boolean {
  return Number.isFinite(lastSeen) && now - lastSeen <= windowMs;
}

/** Every worker that ever sent a heartbeat under the prefix, most recent first, each judged by the rule. */
export async function readWorkers(redis: Redis, prefix: string, { now, windowMs = WORKER_ALIVE_WITHIN_MS }: { now?: number; windowMs?: number } = {}): Promise<WorkerStatus[]> {
  const [beats, served] = await Promise.all([readWorkerHeartbeats(redis, prefix), readWorkerAccounts(redis, prefix)]);
  const at = now ?? Date.now();
  return beats.map(({ id, lastSeen }) => ({ id, lastSeen, ageMs: Math.max(0, at - lastSeen), alive: isWorkerAlive(lastSeen, at, windowMs), accounts: served.get(id) ?? [DEFAULT_ACCOUNT] }));
}

/** Live workers per account they serve: account name → how many live worker processes serve it. */
export function servedAccounts(workers: readonly WorkerStatus[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of workers) if (w.alive) for (const a of w.accounts) out.set(a, (out.get(a) ?? 0) + 1);
  return out;
}

/** `within 30 s` — how the window reads in messages. */
export function describeWindow(windowMs = WORKER_ALIVE_WITHIN_MS): string {
  return `${Math.round(windowMs / 1000)} s`;
}
