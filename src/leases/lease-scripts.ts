/**
 * The Lua steps of leases. A lease is a delayed job of the close queue (job id `closeJobId`,
 * data `lease: true`) plus a small hash and an entry in a deadline index (`leaseKeys` in
 * shared/names.ts); each step below changes the job and the lease together, atomically, so a
 * renewal and BullMQ's promotion of the job at its deadline can never both win.
 *
 * Every script takes the close queue's keys first (`delayedJobKeys`), then the lease index and
 * counts, then one `(job key, lease key)` pair per session; `ARGV[1]` is now (ms epoch) and
 * `ARGV[2]` how long an ended lease is kept (ms).
 *
 * A lease is *pending* while its hash says `pending` and its job waits in the delayed set, never
 * taken by a worker. `leaseSettle` ends a pending lease whose job left the delayed set (BullMQ
 * promoted it: the lease fired) before anything else looks at it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../shared/redis.js';
import { BULLMQ_DELAYED_LUA, delayedJobKeys, QUEUE_KEY_COUNT, type QueueKeys } from '../shared/bullmq-keys.js';
import type { queueLeaseKeys } from '../shared/names.js';

const LEASE_LUA = `
local L = { deadlines = KEYS[${QUEUE_KEY_COUNT + 1}], counts = KEYS[${QUEUE_KEY_COUNT + 2}] }
local FIRST = ${QUEUE_KEY_COUNT + 3}
local now = tonumber(ARGV[1])
local keepMs = tonumber(ARGV[2])

-- True when the job is the one this lease created (same creation time).
local function leaseOwns(jobKey, leaseKey)
  local ts = rcall('HGET', jobKey, 'timestamp')
  return ts ~= false and ts == rcall('HGET', leaseKey, 'createdAt')
end

-- Ends a lease: out of the index, counted, kept keepMs so later calls can say what happened.
local function leaseEnd(jobId, leaseKey, state, at, by)
  rcall('ZREM', L.deadlines, jobId)
  rcall('HSET', leaseKey, 'state', state, 'endedAt', at)
  if by then rcall('HSET', leaseKey, 'endedBy', by) end
  rcall('HINCRBY', L.counts, state, 1)
  rcall('PEXPIRE', leaseKey, keepMs)
end

-- The lease's state, false when there is none. A pending lease whose job no longer waits
-- untaken in the delayed set fired at its deadline: it is ended as 'fired' first.
local function leaseSettle(jobKey, jobId, leaseKey)
  local state = rcall('HGET', leaseKey, 'state')
  if state == 'pending' and not (leaseOwns(jobKey, leaseKey) and bullDelayedUntaken(jobKey, jobId)) then
    leaseEnd(jobId, leaseKey, 'fired', tonumber(rcall('HGET', leaseKey, 'deadline')) or now)
    return 'fired'
  end
  return state
end

-- The answer for a lease that had ended before this call: 'ended:<state>' and when it ended.
local function ended(state, leaseKey)
  return { 'ended:' .. state, tonumber(rcall('HGET', leaseKey, 'endedAt')) or 0, tonumber(rcall('HGET', leaseKey, 'renewals')) or 0 }
end

-- The close that exists without a pending lease: 'completed' / 'failed' (kept), 'pending', or false.
local function closeState(jobKey, jobId)
  if rcall('EXISTS', jobKey) == 0 then return false end
  return bullFinished(jobId) or 'pending'
end

local function leaseRenew(jobKey, jobId, leaseKey, deadline, ttl)
  bullReschedule(jobKey, jobId, deadline)
  rcall('ZADD', L.deadlines, deadline, jobId)
  local renewals = rcall('HINCRBY', leaseKey, 'renewals', 1)
  rcall('HSET', leaseKey, 'deadline', deadline, 'ttl', ttl)
  rcall('PEXPIREAT', leaseKey, deadline + keepMs)
  rcall('HINCRBY', L.counts, 'renewed', 1)
  return { 'renewed', deadline, renewals }
end
`;

/**
 * Creates or renews leases. `ARGV[3]` the job name, `ARGV[4]` the mode (`acquire`: create when
 * absent, renew when pending; `renew`: renew only), then per session: job id, deadline, ttl,
 * job data, job opts, session id, request id (or ''). Answers per session `{code, at, renewals, job exists}`:
 * `created` / `renewed` with the deadline; `ended:fired` / `ended:released` / `ended:cancelled`
 * with when it ended; `pending` / `completed` / `failed` (a close without a pending lease:
 * nothing changed); `none` (renew: no lease at all).
 */
const SET_SCRIPT = `${BULLMQ_DELAYED_LUA}${LEASE_LUA}
local name, mode = ARGV[3], ARGV[4]
local out = {}
for i = 0, (#KEYS - FIRST + 1) / 2 - 1 do
  local jobKey, leaseKey = KEYS[FIRST + 2 * i], KEYS[FIRST + 2 * i + 1]
  local a = 5 + 7 * i
  local jobId, deadline, ttl = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local state = leaseSettle(jobKey, jobId, leaseKey)
  local r
  if state == 'pending' then
    r = leaseRenew(jobKey, jobId, leaseKey, deadline, ttl)
  elseif rcall('EXISTS', jobKey) == 1 then
    if (state == 'fired' or state == 'released') and leaseOwns(jobKey, leaseKey) then r = ended(state, leaseKey)
    else r = { closeState(jobKey, jobId), 0, 0 } end
  elseif mode == 'renew' then
    if state then r = ended(state, leaseKey) else r = { 'none', 0, 0 } end
  else
    bullAddDelayedJob(jobKey, jobId, name, ARGV[a + 3], ARGV[a + 4], now, deadline - now)
    rcall('DEL', leaseKey)
    rcall('HSET', leaseKey, 'state', 'pending', 'sessionId', ARGV[a + 5], 'requestId', ARGV[a + 6], 'createdAt', now, 'ttl', ttl, 'deadline', deadline, 'renewals', 0)
    rcall('PEXPIREAT', leaseKey, deadline + keepMs)
    rcall('ZADD', L.deadlines, deadline, jobId)
    rcall('HINCRBY', L.counts, 'created', 1)
    r = { 'created', deadline, 0 }
  end
  r[4] = rcall('EXISTS', jobKey)
  out[#out + 1] = r
end
return out
`;

/**
 * Ends pending leases before their deadline. `ARGV[3]` the mode: `cancel` (the job is removed:
 * nothing closes), `release` (the job is promoted: the session closes now), `close` (a close
 * request arrived: promoted like `release`, recorded as released by a close request), `check`
 * (nothing changes: a pending lease answers `leased` with its deadline). Then one job id per
 * session. Answers per session `{code, at, renewals, job exists}`: `cancelled` / `released` when this call
 * ended it; `ended:<state>` with when it ended before; `pending` / `completed` / `failed` for a
 * close without a lease; `none` when the session has neither.
 */
const END_SCRIPT = `${BULLMQ_DELAYED_LUA}${LEASE_LUA}
local mode = ARGV[3]
local closing = mode == 'close' or mode == 'check'
local out = {}
for i = 0, (#KEYS - FIRST + 1) / 2 - 1 do
  local jobKey, leaseKey = KEYS[FIRST + 2 * i], KEYS[FIRST + 2 * i + 1]
  local jobId = ARGV[4 + i]
  local r
  -- A close request for a session without a job (the common case) costs one EXISTS: a pending
  -- lease always has its job.
  local state = false
  if closing and rcall('EXISTS', jobKey) == 0 then r = { 'none', 0, 0, 0 }
  else state = leaseSettle(jobKey, jobId, leaseKey) end
  if r then
    -- nothing more to look at
  elseif state == 'pending' and mode == 'check' then
    r = { 'leased', tonumber(rcall('HGET', leaseKey, 'deadline')) or 0, 0, 1 }
  elseif state == 'pending' then
    if mode == 'cancel' then
      bullRemoveDelayed(jobKey, jobId)
      leaseEnd(jobId, leaseKey, 'cancelled', now)
      r = { 'cancelled', now, 0, 0 }
    else
      bullPromote(jobKey, jobId)
      leaseEnd(jobId, leaseKey, 'released', now, mode)
      r = { 'released', now, 0, 1 }
    end
  else
    -- Not pending: what the session has instead.
    local exists = rcall('EXISTS', jobKey)
    if exists == 1 and state and state ~= 'cancelled' and leaseOwns(jobKey, leaseKey) then
      r = ended(state, leaseKey)
    elseif exists == 1 then
      r = { bullFinished(jobId) or 'pending', 0, 0 }
    elseif state then
      r = ended(state, leaseKey)
    else
      r = { 'none', 0, 0 }
    end
    r[4] = exists
  end
  out[#out + 1] = r
end
return out
`;

/**
 * What a worker does when it takes a lease's job: settles the lease (a pending one fired), notes
 * when a worker first took it (`takenAt`) and answers `{state, endedBy, deadline}` (`fired`;
 * `released` by `release` or `close`; false without a lease).
 */
const TAKEN_SCRIPT = `${BULLMQ_DELAYED_LUA}${LEASE_LUA}
local jobKey, leaseKey, jobId = KEYS[FIRST], KEYS[FIRST + 1], ARGV[3]
local state = leaseSettle(jobKey, jobId, leaseKey)
if not state then return { false, false, 0 } end
rcall('HSETNX', leaseKey, 'takenAt', now)
return { state, rcall('HGET', leaseKey, 'endedBy'), tonumber(rcall('HGET', leaseKey, 'deadline')) or 0 }
`;

/** The close queue's keys as the scripts need them, and the lease keys under the same prefix. */
export interface LeaseScriptTarget {
  redis: Redis;
  queue: QueueKeys;
  /** The queue's lease keys (`queueLeaseKeys`). */
  leases: ReturnType<typeof queueLeaseKeys>;
}

const sha = (script: string) => createHash('sha1').update(script).digest('hex');
const SCRIPTS = {
  set: { text: SET_SCRIPT, sha: sha(SET_SCRIPT) },
  end: { text: END_SCRIPT, sha: sha(END_SCRIPT) },
  taken: { text: TAKEN_SCRIPT, sha: sha(TAKEN_SCRIPT) },
};

/** Runs one script by its SHA (one round trip), loading it on `NOSCRIPT`. */
async function run(redis: Redis, script: keyof typeof SCRIPTS, keys: string[], args: Array<string | number>): Promise<unknown> {
  const s = SCRIPTS[script];
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    return redis.eval(s.text, keys.length, ...keys, ...args);
  }
}

function keysFor({ queue, leases: k }: LeaseScriptTarget, jobIds: readonly string[]): string[] {
  const out = [...delayedJobKeys(queue), k.deadlines, k.counts];
  for (const id of jobIds) out.push(queue.toKey(id), k.lease(id));
  return out;
}

/** One session's answer of a lease script. */
export interface ScriptAnswer {
  code: string;
  /** The deadline (`created`, `renewed`) or when the lease ended (ms epoch); 0 when not known. */
  at: number;
  renewals: number;
  /** Whether the session's close job exists after the call. */
  jobExists: boolean;
}

const answers = (raw: unknown): ScriptAnswer[] =>
  (raw as Array<[string | null, number | string, number | string, number]>).map(([code, at, renewals, exists]) => ({
    code: code ?? 'none',
    at: Number(at),
    renewals: Number(renewals),
    jobExists: Number(exists) === 1,
  }));

/** How long an ended lease is remembered (ms): renewing it meanwhile says when it fired. */
export const ENDED_LEASE_KEEP_MS = 24 * 3600 * 1000;

/** One lease to create or renew. */
export interface LeaseSpec {
  jobId: string;
  deadline: number;
  ttlMs: number;
  /** The job data (JSON) and opts (JSON) a created job gets. */
  data: string;
  opts: string;
  sessionId: string;
  requestId?: string;
}

/** Creates or renews leases atomically, one script per call (see SET_SCRIPT). */
export async function runSet(target: LeaseScriptTarget, mode: 'acquire' | 'renew', jobName: string, specs: readonly LeaseSpec[], now: number): Promise<ScriptAnswer[]> {
  if (specs.length === 0) return [];
  const args: Array<string | number> = [now, ENDED_LEASE_KEEP_MS, jobName, mode];
  for (const s of specs) args.push(s.jobId, s.deadline, s.ttlMs, s.data, s.opts, s.sessionId, s.requestId ?? '');
  return answers(await run(target.redis, 'set', keysFor(target, specs.map((s) => s.jobId)), args));
}

/** Ends pending leases atomically (see END_SCRIPT). */
export async function runEnd(target: LeaseScriptTarget, mode: 'cancel' | 'release' | 'close' | 'check', jobIds: readonly string[], now: number): Promise<ScriptAnswer[]> {
  if (jobIds.length === 0) return [];
  return answers(await run(target.redis, 'end', keysFor(target, jobIds), [now, ENDED_LEASE_KEEP_MS, mode, ...jobIds]));
}

/** Settles the lease of a job a worker took (see TAKEN_SCRIPT). */
export async function runTaken(target: LeaseScriptTarget, jobId: string, now: number): Promise<{ state?: string; endedBy?: string; deadline?: number }> {
  const [state, endedBy, deadline] = (await run(target.redis, 'taken', keysFor(target, [jobId]), [now, ENDED_LEASE_KEEP_MS, jobId])) as [string | null, string | null, number];
  return { ...(state ? { state } : {}), ...(endedBy ? { endedBy } : {}), ...(Number(deadline) > 0 ? { deadline: Number(deadline) } : {}) };
}
