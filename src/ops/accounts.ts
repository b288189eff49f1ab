/**
 * The per-account view every operator surface shows (`stats`, `/api/stats`, `/metrics`, the UI):
 * for each account that is configured, that closes were enqueued for (`<prefix>:accounts`) or
 * that a live worker serves — its close queue's counts, its limiter, its dead letters and the live
 * workers serving it. A letter's account is the one its id names (`accountOfJobId`).
 */
import type { Queue } from 'bullmq';
import { BbReaperError } from '../shared/errors.js';
import { readKnownAccounts } from '../shared/account-registry.js';
import type { CloseJobData } from '../shared/jobs.js';
import { accountOfJobId, DEFAULT_ACCOUNT } from '../shared/names.js';
import { DEAD_LETTER_STATES, type DeadLetterState, type Queues } from '../shared/queues.js';
import type { Redis } from '../shared/redis.js';
import { readLimiterState, type LimiterState } from '../worker/limiter-state.js';
import { listAccountsLeases, readLeaseCounts, type LeaseCounts, type LeaseInfo } from '../leases/lease-store.js';
import { readWorkers, servedAccounts, type WorkerStatus } from './liveness.js';

/** One account's close queue by state. */
export interface AccountQueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export interface AccountView {
  name: string;
  /** In the accounts file of the process that asked (the CLI's or the UI's), when it has one. */
  configured: boolean;
  queue: AccountQueueCounts;
  /** Dead letters of this account. */
  deadLetters: number;
  /** Its limiter's shared state; null when no worker ever served it. */
  limiter: LimiterState | null;
  /** Live worker processes serving it. */
  workers: number;
  /** True when closes are pending (waiting, delayed or active) and no live worker serves the account. */
  unserved: boolean;
  /** Its leases: pending now, and events since the prefix was first used. */
  leases: LeaseCounts;
}

/** Counts of one close queue by state (prioritized and waiting-children count as waiting). */
export async function closeQueueCounts(queue: Queue<CloseJobData>): Promise<AccountQueueCounts> {
  const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children');
  const n = (v: number | undefined) => v ?? 0;
  return { waiting: n(c.waiting) + n(c.prioritized) + n(c['waiting-children']), active: n(c.active), delayed: n(c.delayed), failed: n(c.failed), completed: n(c.completed) };
}

/** Every dead letter's id and state, by the account its id names (ids only: one read per state). */
export async function deadLetterIdsByAccount(queues: Pick<Queues, 'deadLetterQueue'>): Promise<Map<string, Array<{ id: string; state: DeadLetterState }>>> {
  const out = new Map<string, Array<{ id: string; state: DeadLetterState }>>();
  const seen = new Set<string>();
  for (const state of DEAD_LETTER_STATES) {
    for (const id of await queues.deadLetterQueue.getRanges([state], 0, -1)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const account = accountOfJobId(id);
      const list = out.get(account);
      if (list) list.push({ id, state });
      else out.set(account, [{ id, state }]);
    }
  }
  return out;
}

/** Throws `INVALID_OPTION` naming the account and the ones there are, when `account` is none of `names`. */
export function assertKnownAccount(account: string, names: readonly string[]): void {
  if (!names.includes(account)) throw new BbReaperError('INVALID_OPTION', `no account \`${account}\` here: it is not configured, no close was enqueued for it and no worker serves it (accounts: ${names.join(', ')})`);
}

/**
 * The accounts there are, `default` first: configured (in the asking process's accounts file),
 * enqueued for (the registry) or served by a live worker.
 */
export async function knownAccountNames({ redis, prefix, workers, configured = [] }: { redis: Redis; prefix: string; workers?: readonly WorkerStatus[]; configured?: readonly string[] }): Promise<string[]> {
  const [known, live] = await Promise.all([readKnownAccounts(redis, prefix), workers ?? readWorkers(redis, prefix)]);
  return [...new Set([DEFAULT_ACCOUNT, ...configured, ...known, ...servedAccounts(live).keys()])].sort((a, b) => (a === DEFAULT_ACCOUNT ? -1 : b === DEFAULT_ACCOUNT ? 1 : a.localeCompare(b)));
}

/** The accounts a view shows: `account` alone (an unknown one throws `INVALID_OPTION`, see {@link assertKnownAccount}), or all of `names`. */
export function chooseAccounts(names: readonly string[], account?: string): string[] {
  if (account === undefined) return [...names];
  assertKnownAccount(account, names);
  return [account];
}

/** Every account's view, sorted by name (`default` first); `account` keeps only that one. */
export async function gatherAccountViews({
  redis,
  queues,
  workers,
  configured = [],
  account,
}: {
  redis: Redis;
  queues: Pick<Queues, 'closeQueueFor' | 'deadLetterQueue' | 'prefix'>;
  workers: readonly WorkerStatus[];
  configured?: readonly string[];
  account?: string;
}): Promise<AccountView[]> {
  const served = servedAccounts(workers);
  const chosen = chooseAccounts(await knownAccountNames({ redis, prefix: queues.prefix, workers, configured }), account);
  const [letters, views] = await Promise.all([
    deadLetterIdsByAccount(queues),
    Promise.all(
      chosen.map(async (name) => {
        const [queue, limiter, leases] = await Promise.all([closeQueueCounts(queues.closeQueueFor(name)), readLimiterState(redis, queues.prefix, name), readLeaseCounts(redis, queues.prefix, Date.now(), name)]);
        return { name, queue, limiter: limiter ?? null, leases };
      }),
    ),
  ]);
  return views.map(({ name, queue, limiter, leases }) => {
    const workersServing = served.get(name) ?? 0;
    return {
      name,
      configured: configured.includes(name),
      queue,
      deadLetters: letters.get(name)?.length ?? 0,
      limiter,
      workers: workersServing,
      unserved: workersServing === 0 && queue.waiting + queue.delayed + queue.active > 0,
      leases,
    };
  });
}

/**
 * A page of pending leases, soonest deadline first: every account's (those {@link knownAccountNames}
 * gives), or `account`'s only (an unknown one throws `INVALID_OPTION` naming the accounts there
 * are). What `lease --list` and `GET /api/leases` show.
 */
export async function readLeasePage({
  redis,
  queues,
  configured = [],
  account,
  offset = 0,
  limit = 100,
}: {
  redis: Redis;
  queues: Pick<Queues, 'closeQueueFor' | 'prefix'>;
  configured?: readonly string[];
  account?: string;
  offset?: number;
  limit?: number;
}): Promise<{ total: number; leases: LeaseInfo[] }> {
  const chosen = chooseAccounts(await knownAccountNames({ redis, prefix: queues.prefix, configured }), account);
  return listAccountsLeases({ queues, redis }, chosen, { offset, limit });
}
