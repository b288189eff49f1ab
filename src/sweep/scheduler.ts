import { Queue } from 'bullmq';
import type { Redis } from '../shared/redis.js';
import { accountKeyPrefix, accountOfSweepQueue, DEFAULT_ACCOUNT, SWEEP_QUEUE, sweepQueueName } from '../shared/names.js';
import { assertClusterSafePrefix } from '../shared/queues.js';
import type { SweepParams } from './find-orphans.js';

/** The small BullMQ queue that carries scheduled sweeps (under the configured prefix). */
export { SWEEP_QUEUE };
/** Job name of a scheduled sweep. */
export const SWEEP_JOB_NAME = 'orphan-sweep';
/** Name of the schedule when none is given. */
export const DEFAULT_SCHEDULE_NAME = 'default';
/** Shortest accepted interval of a recurring sweep, in ms (each sweep lists every active session). */
export const MIN_SWEEP_EVERY_MS = 10_000;

/** Data of a scheduled sweep job: the sweep's parameters, never an API key. */
export type SweepJobData = SweepParams;

export interface SweepSchedule {
  /** The schedule's name (`--name`), unique within its account. */
  name: string;
  /** The account it sweeps (whose sweep queue holds it; its workers run it with its key). */
  account: string;
  /** Interval in ms. */
  everyMs: number;
  /** Next run, ms since the epoch (when known). */
  next?: number;
  params: SweepParams;
}

/** Accepted schedule names. */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

const schedulerId = (name: string) => {
  if (!SCHEDULE_NAME_PATTERN.test(name)) throw new RangeError(`Expected the schedule name to be 1-64 letters, digits, \`_ . -\`, got \`${name}\``);
  return `${SWEEP_JOB_NAME}-${name}`;
};

/** One account's sweep queue (`sweepQueueName`; default `default`'s) on a connection the caller owns. Close it after use. */
export function createSweepQueue({ connection, prefix, account = DEFAULT_ACCOUNT }: { connection: Redis; prefix: string; account?: string }): Queue<SweepJobData> {
  assertClusterSafePrefix(connection, prefix);
  const q = new Queue<SweepJobData>(sweepQueueName(account), { connection, prefix: accountKeyPrefix(prefix, account) });
  q.on('error', () => {});
  return q;
}

/** Every account's sweep queue, opened on first use on one connection the caller owns. */
export interface SweepQueues {
  for(account: string): Queue<SweepJobData>;
  close(): Promise<void>;
}

export function createSweepQueues({ connection, prefix }: { connection: Redis; prefix: string }): SweepQueues {
  const open = new Map<string, Queue<SweepJobData>>();
  return {
    for(account) {
      let q = open.get(account);
      if (!q) open.set(account, (q = createSweepQueue({ connection, prefix, account })));
      return q;
    },
    async close() {
      await Promise.all([...open.values()].map((q) => q.close()));
      open.clear();
    },
  };
}

/**
 * Registers (or updates) a recurring sweep as a BullMQ job scheduler. The first sweep runs at
 * once, then every `everyMs`, in whichever `bb-reaper worker` process picks the job up.
 */
export async function upsertSweepSchedule(queue: Queue<SweepJobData>, { name = DEFAULT_SCHEDULE_NAME, everyMs, params }: { name?: string; everyMs: number; params: SweepParams }): Promise<SweepSchedule> {
  if (!Number.isInteger(everyMs) || everyMs < MIN_SWEEP_EVERY_MS) throw new RangeError(`Expected \`everyMs\` to be an integer ≥ ${MIN_SWEEP_EVERY_MS}, got \`${everyMs}\``);
  const data: SweepJobData = { olderThanMs: params.olderThanMs, ...(params.q ? { q: params.q } : {}), ...(params.includeKeepAlive ? { includeKeepAlive: true } : {}) };
  await queue.upsertJobScheduler(schedulerId(name), { every: everyMs }, {
    name: SWEEP_JOB_NAME,
    data,
    opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
  return { name, account: accountOfSweepQueue(queue.name) ?? DEFAULT_ACCOUNT, everyMs, params: data };
}

/**
 * Removes a recurring sweep and its sweeps not started yet (waiting or delayed), so nothing runs
 * after `--stop`. Returns false when there was no schedule by that name.
 */
export async function removeSweepSchedule(queue: Queue<SweepJobData>, name = DEFAULT_SCHEDULE_NAME): Promise<boolean> {
  const id = schedulerId(name);
  const removed = await queue.removeJobScheduler(id);
  const pending = await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1);
  for (const job of pending) {
    if (job?.id?.startsWith(`repeat:${id}:`)) await job.remove().catch(() => undefined);
  }
  return removed;
}

/** The recurring sweeps of one account (its sweep queue), soonest first. */
export async function listSweepSchedules(queue: Queue<SweepJobData>): Promise<SweepSchedule[]> {
  const all = await queue.getJobSchedulers(0, -1, true);
  const account = accountOfSweepQueue(queue.name) ?? DEFAULT_ACCOUNT;
  return all
    .filter((s) => typeof s.key === 'string' && s.key.startsWith(`${SWEEP_JOB_NAME}-`))
    .map((s) => ({
      name: s.key.slice(SWEEP_JOB_NAME.length + 1),
      account,
      everyMs: Number(s.every ?? 0),
      ...(s.next !== undefined ? { next: Number(s.next) } : {}),
      params: (s.template?.data ?? { olderThanMs: 0 }) as SweepParams,
    }));
}

/** The recurring sweeps of several accounts, soonest first. */
export async function listAccountsSweepSchedules(queues: SweepQueues, accounts: readonly string[]): Promise<SweepSchedule[]> {
  const lists = await Promise.all(accounts.map((a) => listSweepSchedules(queues.for(a))));
  return lists.flat().sort((a, b) => (a.next ?? Infinity) - (b.next ?? Infinity) || a.account.localeCompare(b.account) || a.name.localeCompare(b.name));
}
