/**
 * The few places bb-reaper reads BullMQ's own Redis layout directly instead of through a `Job`:
 * pipelined reads of many jobs' states in one round trip (following closes) and the job lock
 * check before a send. Everything that knows a BullMQ key or hash field name is here, so a
 * BullMQ upgrade that changes them is one file to check (layout of BullMQ 5–6):
 * - a job is the hash `<prefix>:<queue>:<id>` (`queue.toKey(id)`), with the fields below;
 * - the finished states are sorted sets (`queue.keys.completed`, `queue.keys.failed`), member = job id;
 * - the lock of an active job is the string `<job key>:lock`, whose value is the worker's token.
 */
import type { Queue } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { Redis } from './redis.js';

/** The part of a BullMQ `Queue` that names its keys. */
export type QueueKeys = Pick<Queue, 'toKey' | 'keys'>;

/** Fields of a BullMQ job hash bb-reaper reads: creation time, data (JSON), return value (JSON), failure reason. */
export const JOB_HASH_FIELDS = {
  timestamp: 'timestamp',
  data: 'data',
  returnValue: 'returnvalue',
  failedReason: 'failedReason',
} as const;
export type JobHashField = keyof typeof JOB_HASH_FIELDS;

/** The finished states kept as sorted sets. */
export type FinishedState = 'completed' | 'failed';

/**
 * The `failedReason` BullMQ itself writes when it fails a job that stalled more often than its
 * worker's `maxStalledCount` allows (its workers kept dying mid-job): no processor ran to record why.
 */
export const BULLMQ_STALLED_REASON = 'job stalled more than allowable limit';

/** The key of a job's hash (it exists while the job does). */
export function jobKey(queue: QueueKeys, jobId: string): string {
  return queue.toKey(jobId);
}

/** The key of an active job's lock. */
export function jobLockKey(queue: QueueKeys, jobId: string): string {
  return `${jobKey(queue, jobId)}:lock`;
}

/** The token holding an active job's lock, or null when it is not locked (lock expired or job finished). */
export async function readJobLock(redis: Redis, queue: QueueKeys, jobId: string): Promise<string | null> {
  return redis.get(jobLockKey(queue, jobId));
}

/** Queues an HMGET of `fields` of a job's hash on `pipeline`; its reply lists the values in order, null when absent. */
export function pipeJobFields(pipeline: ChainableCommander, queue: QueueKeys, jobId: string, fields: readonly JobHashField[]): void {
  pipeline.hmget(jobKey(queue, jobId), ...fields.map((f) => JOB_HASH_FIELDS[f]));
}

/** Queues a ZSCORE on `pipeline` that tells whether a job is in a finished state: its reply is null when not. */
export function pipeInFinishedState(pipeline: ChainableCommander, queue: QueueKeys, jobId: string, state: FinishedState): void {
  pipeline.zscore(queue.keys[state] as string, jobId);
}

/** How BullMQ keeps each waiting-side state: `wait` and `active` are lists (newest at the head), the others sorted sets. */
const STATE_KEY = {
  waiting: { key: 'wait', kind: 'list' },
  active: { key: 'active', kind: 'list' },
  delayed: { key: 'delayed', kind: 'zset' },
  prioritized: { key: 'prioritized', kind: 'zset' },
  failed: { key: 'failed', kind: 'zset' },
  completed: { key: 'completed', kind: 'zset' },
} as const;
export type ListableState = keyof typeof STATE_KEY;

/**
 * One atomic read of a listing over several states: the states one after the other in the order
 * given, newest first within each; returns the ids at positions `start`..`end` (0-based,
 * inclusive) with their state, and the total over all the states, from the same instant.
 */
const LIST_STATES_SCRIPT = `
local n = #KEYS
local start, stop = tonumber(ARGV[n + 1]), tonumber(ARGV[n + 2])
local total, out = 0, {}
for i = 1, n do
  local list = ARGV[i] == 'list'
  local size = list and redis.call('LLEN', KEYS[i]) or redis.call('ZCARD', KEYS[i])
  local from, to = math.max(start, total), math.min(stop, total + size - 1)
  if from <= to then
    local ids = list and redis.call('LRANGE', KEYS[i], from - total, to - total) or redis.call('ZREVRANGE', KEYS[i], from - total, to - total)
    for _, id in ipairs(ids) do
      out[#out + 1] = tostring(i)
      out[#out + 1] = id
    end
  end
  total = total + size
end
return {total, out}
`;

/** Ids `start`..`end` of the listing of `states` (in that order, newest first within each), and the total, read atomically. */
export async function listJobIdsInStates<S extends ListableState>(
  redis: Redis,
  queue: QueueKeys,
  states: readonly S[],
  { start, end }: { start: number; end: number },
): Promise<{ total: number; jobs: Array<{ id: string; state: S }> }> {
  const keys = states.map((s) => queue.toKey(STATE_KEY[s].key));
  const kinds = states.map((s) => STATE_KEY[s].kind);
  const [total, flat] = (await redis.eval(LIST_STATES_SCRIPT, keys.length, ...keys, ...kinds, String(start), String(end))) as [number, string[]];
  const jobs: Array<{ id: string; state: S }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) jobs.push({ state: states[Number(flat[i]) - 1] as S, id: flat[i + 1] as string });
  return { total: Number(total), jobs };
}
