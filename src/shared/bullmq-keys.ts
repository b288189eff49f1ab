/**
 * The few places bb-reaper reads BullMQ's own Redis layout directly instead of through a `Job`:
 * pipelined reads of many jobs' states in one round trip (following closes) and the job lock
 * check before a send. Everything that knows a BullMQ key or hash field name is here, so a
 * BullMQ upgrade that changes them is one file to check (layout of BullMQ 5–6):
 * - a job is the hash `<prefix>:<queue>:<id>` (`queue.toKey(id)`), with the fields below;
 * - the finished states are sorted sets (`queue.keys.completed`, `queue.keys.failed`), member = job id;
 * - the lock of an active job is the string `<job key>:lock`, whose value is the worker's token;
 * - a delayed job waits in the sorted set `delayed` scored `due ms × 0x1000 + order`, workers
 *   wake up on the `marker` set, and a job a worker took has `processedOn` (used by leases:
 *   {@link BULLMQ_DELAYED_LUA} adds, reschedules, promotes and removes delayed jobs as BullMQ does).
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

/**
 * The keys of one queue that {@link BULLMQ_DELAYED_LUA} works on, in the order it reads them as
 * `KEYS[1]`..`KEYS[QUEUE_KEY_COUNT]`: delayed jobs, the worker wake-up marker, queue meta, the
 * events stream, the id counter, wait, active, completed, failed.
 */
export function delayedJobKeys(queue: QueueKeys): string[] {
  const k = queue.keys;
  return [k.delayed, k.marker, k.meta, k.events, k.id, k.wait, k.active, k.completed, k.failed].map(String);
}
/** How many keys {@link delayedJobKeys} returns: a script's own keys start at `KEYS[QUEUE_KEY_COUNT + 1]`. */
export const QUEUE_KEY_COUNT = 9;

/**
 * The `opts` field BullMQ 6 stores for `queue.add(name, data, { jobId, delay })` on a queue whose
 * default job options are `defaults` (checked against a real `add` by test/integration/leases-store.test.ts).
 */
export function storedJobOpts(jobId: string, delayMs: number, defaults: { removeOnComplete: unknown; removeOnFail: unknown }): string {
  return JSON.stringify({ removeOnFail: defaults.removeOnFail, jobId, removeOnComplete: defaults.removeOnComplete, delay: delayMs, attempts: 0 });
}

/**
 * Lua functions for a queue's delayed jobs, doing what BullMQ 6's own scripts do (addDelayedJob,
 * changeDelay, promote, removeJob; `commands/includes/*.lua`), so that one script of bb-reaper can
 * add, reschedule, promote or remove a delayed job atomically with its own keys (leases). The
 * script passes {@link delayedJobKeys} as its first keys (`Q` names them). Jobs handled here have
 * no parent, no deduplication id and priority 0 (bb-reaper creates them so).
 */
export const BULLMQ_DELAYED_LUA = `
local rcall = redis.call
local Q = { delayed = KEYS[1], marker = KEYS[2], meta = KEYS[3], events = KEYS[4], id = KEYS[5], wait = KEYS[6],
  active = KEYS[7], completed = KEYS[8], failed = KEYS[9] }

local function bullMaxEvents()
  local n = rcall('HGET', Q.meta, 'opts.maxLenEvents')
  if not n then
    n = 10000
    rcall('HSET', Q.meta, 'opts.maxLenEvents', n)
  end
  return n
end

-- getDelayedScore: the job id's order within one ms is kept (up to 4096 jobs per ms).
local function bullDelayedScore(untilMs)
  local minScore = untilMs * 0x1000
  local maxScore = (untilMs + 1) * 0x1000 - 1
  local r = rcall('ZREVRANGEBYSCORE', Q.delayed, maxScore, minScore, 'WITHSCORES', 'LIMIT', 0, 1)
  local current = tonumber(r[2])
  if current ~= nil then
    if current >= maxScore then return maxScore end
    return current + 1
  end
  return minScore
end

-- addDelayMarkerIfNeeded: wakes blocked workers at the earliest delayed job.
local function bullDelayMarker()
  local r = rcall('ZRANGE', Q.delayed, 0, 0, 'WITHSCORES')
  local next = tonumber(r[2])
  if next ~= nil then rcall('ZADD', Q.marker, next / 0x1000, '1') end
end

-- addDelayedJob + storeJob: the job hash, its events, the delayed set and the marker.
local function bullAddDelayedJob(jobKey, jobId, name, data, opts, timestamp, delay)
  rcall('INCR', Q.id)
  local maxEvents = bullMaxEvents()
  rcall('HMSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', timestamp, 'delay', delay, 'priority', 0)
  rcall('XADD', Q.events, 'MAXLEN', '~', maxEvents, '*', 'event', 'added', 'jobId', jobId, 'name', name)
  local untilMs = tonumber(timestamp) + tonumber(delay)
  rcall('ZADD', Q.delayed, bullDelayedScore(untilMs), jobId)
  rcall('XADD', Q.events, 'MAXLEN', '~', maxEvents, '*', 'event', 'delayed', 'jobId', jobId, 'delay', untilMs)
  bullDelayMarker()
end

-- True when the job waits in the delayed set and no worker ever took it (a retry in backoff was taken).
local function bullDelayedUntaken(jobKey, jobId)
  return rcall('ZSCORE', Q.delayed, jobId) ~= false and rcall('HEXISTS', jobKey, 'processedOn') == 0
end

-- changeDelay: the job runs at untilMs instead; its delay stays measured from its timestamp.
local function bullReschedule(jobKey, jobId, untilMs)
  local timestamp = tonumber(rcall('HGET', jobKey, 'timestamp')) or untilMs
  rcall('ZADD', Q.delayed, bullDelayedScore(untilMs), jobId)
  rcall('HSET', jobKey, 'delay', math.max(0, untilMs - timestamp))
  rcall('XADD', Q.events, 'MAXLEN', '~', bullMaxEvents(), '*', 'event', 'delayed', 'jobId', jobId, 'delay', untilMs)
  bullDelayMarker()
end

-- promote: from delayed to wait now (a paused queue keeps it there until resumed).
local function bullPromote(jobKey, jobId)
  if rcall('ZREM', Q.delayed, jobId) == 0 then return false end
  local attrs = rcall('HMGET', Q.meta, 'paused', 'concurrency')
  local held = attrs[1] ~= false or (attrs[2] ~= false and rcall('LLEN', Q.active) >= tonumber(attrs[2]))
  rcall('LPUSH', Q.wait, jobId)
  if not held then rcall('ZADD', Q.marker, 0, '0') end
  rcall('XADD', Q.events, 'MAXLEN', '~', bullMaxEvents(), '*', 'event', 'waiting', 'jobId', jobId, 'prev', 'delayed')
  rcall('HSET', jobKey, 'delay', 0)
  return true
end

-- removeJob of a delayed job: gone from the delayed set, its hash and logs deleted.
local function bullRemoveDelayed(jobKey, jobId)
  if rcall('ZREM', Q.delayed, jobId) == 0 then return false end
  rcall('DEL', jobKey, jobKey .. ':logs')
  rcall('XADD', Q.events, 'MAXLEN', '~', bullMaxEvents(), '*', 'event', 'removed', 'jobId', jobId, 'prev', 'delayed')
  return true
end

-- 'completed' or 'failed' when the job finished (and is still kept), else nil.
local function bullFinished(jobId)
  if rcall('ZSCORE', Q.completed, jobId) ~= false then return 'completed' end
  if rcall('ZSCORE', Q.failed, jobId) ~= false then return 'failed' end
  return nil
end
`;
