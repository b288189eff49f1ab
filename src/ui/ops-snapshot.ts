import type { Redis } from 'ioredis';
import { readCounters, type CounterSnapshot } from '../metrics/counters.js';
import type { MetricsSnapshot } from '../metrics/exposition.js';
import { getQueueStats, type Queues, type QueueStats } from '../shared/queues.js';
import { readWorkerHeartbeats } from '../worker/heartbeat.js';
import { readLimiterState, type LimiterState } from '../worker/limiter-state.js';

/** A worker counts as alive when its last heartbeat is at most this old (ms). Default for the UI. */
export const DEFAULT_HEARTBEAT_MAX_AGE_MS = 30_000;

export interface WorkerStatus {
  /** `<hostname>:<pid>` */
  id: string;
  /** Last heartbeat, ms since the epoch. */
  lastSeen: number;
  /** How long ago, ms. */
  ageMs: number;
  /** Heartbeat within the readiness window. */
  alive: boolean;
}

/** What an operator asks first: queue depths, limiter, workers and the counters. */
export interface OpsSnapshot {
  at: number;
  queues: QueueStats;
  limiter: LimiterState | null;
  workers: WorkerStatus[];
  counters: CounterSnapshot;
}

export interface SnapshotSources {
  redis: Redis;
  queues: Pick<Queues, 'closeQueue' | 'deadLetterQueue' | 'prefix'>;
  /** Heartbeat age beyond which a worker is not counted, ms. Default 30 000. */
  heartbeatMaxAgeMs?: number;
}

/** Reads everything from Redis in parallel (a handful of commands). */
export async function gatherOpsSnapshot({ redis, queues, heartbeatMaxAgeMs = DEFAULT_HEARTBEAT_MAX_AGE_MS }: SnapshotSources): Promise<OpsSnapshot> {
  const [stats, limiter, beats, counters] = await Promise.all([
    getQueueStats(queues),
    readLimiterState(redis, queues.prefix),
    readWorkerHeartbeats(redis, queues.prefix),
    readCounters(redis, queues.prefix),
  ]);
  const at = Date.now();
  const workers = beats.map(({ id, lastSeen }) => ({ id, lastSeen, ageMs: Math.max(0, at - lastSeen), alive: at - lastSeen <= heartbeatMaxAgeMs }));
  return { at, queues: stats, limiter: limiter ?? null, workers, counters };
}

/** The part of a snapshot `/metrics` renders. */
export function toMetricsSnapshot(s: OpsSnapshot): MetricsSnapshot {
  const { waiting, active, delayed, failed, dead } = s.queues;
  return {
    counters: s.counters,
    queues: { waiting, active, delayed, failed, dead },
    limiter: s.limiter,
    workers: s.workers.filter((w) => w.alive).length,
    now: s.at,
  };
}
