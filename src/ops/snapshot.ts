/**
 * The one operations snapshot: what an operator asks first, read from Redis in one go. `stats`
 * prints it, the UI serves it as `/api/stats` and renders `/metrics` from it, so they always
 * agree: the same counts (dead letters in {@link DEAD_LETTER_STATES}) and the same liveness rule
 * (`ops/liveness.ts`).
 */
import type { Redis } from '../shared/redis.js';
import { sumLeaseCounts, type LeaseCounts } from '../leases/lease-store.js';
import { readCountersByAccount, sumCounters, type CounterSnapshot } from '../metrics/counters.js';
import type { MetricsSnapshot } from '../metrics/exposition.js';
import { getQueueStats, type Queues, type QueueStats } from '../shared/queues.js';
import { listAccountsSweepSchedules, type SweepQueues, type SweepSchedule } from '../sweep/scheduler.js';
import { readLimiterState, type LimiterState } from '../worker/limiter-state.js';
import { gatherAccountViews, type AccountView } from './accounts.js';
import { isWorkerAlive, readWorkers, WORKER_ALIVE_WITHIN_MS, type WorkerStatus } from './liveness.js';

export type { WorkerStatus };

/** Queue depths, limiter, workers, counters and recurring sweeps, at one moment. */
export interface OpsSnapshot {
  /** When it was read, ms since the epoch. */
  at: number;
  prefix: string;
  /** Close queue counts by state, and the number of dead letters. */
  queues: QueueStats;
  /** The global limiter's shared state; null when no worker ever ran under this prefix. */
  limiter: LimiterState | null;
  /** Worker processes that sent a heartbeat, most recent first, `alive` by the one liveness rule. */
  workers: WorkerStatus[];
  /** Metric counters of all worker processes together (all accounts). */
  counters: CounterSnapshot;
  /** The same by account. */
  countersByAccount: Record<string, CounterSnapshot>;
  /** Recurring orphan sweeps, soonest first; empty when no sweep queue was given. */
  sweeps: SweepSchedule[];
  /** Leases: pending now (`active`, of which `due` past their deadline) and events since the prefix was first used. */
  leases: LeaseCounts;
  /**
   * Browser minutes closes saved, all accounts together: an upper bound (from each close to the
   * session's `expiresAt`, for sessions still running; a session might have ended sooner anyway).
   */
  minutesSaved: number;
  /** Every account (configured, enqueued for, or served), each with its queue, limiter, dead letters and live workers. */
  accounts: AccountView[];
}

export interface SnapshotSources {
  redis: Redis;
  queues: Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue' | 'prefix'>;
  /** The sweep queues, for each account's recurring sweeps. */
  sweepQueues?: SweepQueues;
  /**
   * Heartbeat age beyond which a worker is not alive, ms. Default (and what the CLI always uses):
   * {@link WORKER_ALIVE_WITHIN_MS}.
   */
  heartbeatMaxAgeMs?: number;
  /** Names of the accounts the asking process has configured (its accounts file), listed even when idle. */
  configuredAccounts?: readonly string[];
  /** Only this account in `accounts` (an unknown one throws `INVALID_OPTION` naming it). */
  account?: string;
}

/** Reads everything from Redis in parallel (a handful of commands). */
export async function gatherOpsSnapshot({ redis, queues, sweepQueues, heartbeatMaxAgeMs = WORKER_ALIVE_WITHIN_MS, configuredAccounts, account }: SnapshotSources): Promise<OpsSnapshot> {
  const [stats, limiter, beats, countersByAccount] = await Promise.all([
    getQueueStats(queues),
    readLimiterState(redis, queues.prefix),
    readWorkers(redis, queues.prefix, { windowMs: heartbeatMaxAgeMs }),
    readCountersByAccount(redis, queues.prefix),
  ]);
  // Ages (and so liveness) are measured once everything is read, all at the same moment.
  const at = Date.now();
  const workers = beats.map((w) => ({ ...w, ageMs: Math.max(0, at - w.lastSeen), alive: isWorkerAlive(w.lastSeen, at, heartbeatMaxAgeMs) }));
  const counters = sumCounters(Object.values(countersByAccount));
  const minutesSaved = Object.values(counters.minutesSaved).reduce((a, b) => a + b, 0);
  const accounts = await gatherAccountViews({ redis, queues, workers, ...(configuredAccounts ? { configured: configuredAccounts } : {}), ...(account !== undefined ? { account } : {}) });
  const leases = sumLeaseCounts(accounts.map((a) => a.leases));
  const sweeps = sweepQueues ? await listAccountsSweepSchedules(sweepQueues, accounts.map((a) => a.name)) : [];
  return { at, prefix: queues.prefix, queues: stats, limiter: limiter ?? null, workers, counters, countersByAccount, sweeps, leases, minutesSaved, accounts };
}

/** The part of a snapshot `/metrics` renders. */
export function toMetricsSnapshot(s: OpsSnapshot): MetricsSnapshot {
  const { waiting, active, delayed, failed, dead } = s.queues;
  return {
    counters: s.counters,
    byAccount: s.countersByAccount,
    limiters: Object.fromEntries(s.accounts.map((a) => [a.name, a.limiter])),
    queues: { waiting, active, delayed, failed, dead },
    leasesByAccount: Object.fromEntries(s.accounts.map((a) => [a.name, a.leases])),
    queuesByAccount: Object.fromEntries(s.accounts.map((a) => [a.name, { waiting: a.queue.waiting, active: a.queue.active, delayed: a.queue.delayed, failed: a.queue.failed, dead: a.deadLetters }])),
    limiter: s.limiter,
    workers: s.workers.filter((w) => w.alive).length,
    now: s.at,
    leases: s.leases,
  };
}
