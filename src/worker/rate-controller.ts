import { createHash } from 'node:crypto';
import type { Redis } from '../shared/redis.js';
import { DEFAULT_ACCOUNT } from '../shared/names.js';
import { limiterKeys, parseLimiterState, type LimiterState } from './limiter-state.js';

/**
 * The global limiter's shared state, as atomic Lua scripts on the limiter's keys (all of the one
 * `<prefix>:limiter` family, so that they can share one hash tag on a Redis Cluster):
 *
 * Adaptive rate, on the `state` hash:
 * - `init`: a starting worker records the configured rate and concurrency;
 * - `on429`: any worker that sees a 429 pauses everyone until the server's delay has passed and
 *   (at most once per cool-down) lowers the effective rate by at least 15 %, to 95 % of the success
 *   rate observed in the last complete second — what the server really admits — or to 70 % when
 *   nothing succeeded lately; no rate token is granted for the pause;
 * - `tick`: once a second (globally), after 2 s without a 429, the rate climbs back: quickly up to
 *   95 % of the estimated ceiling, then slowly (3 %/s), never above the configured rate nor, for
 *   15 s, above 97 % of the last rate that drew a 429 (so a steady state draws no 429s).
 * Successful requests are counted per second in the `ok` hash so the estimate sees all workers.
 *
 * Shares, by `sync` (one script call per process every sync interval, and one per batch of rate
 * tokens):
 * - rate tokens: a shared virtual schedule (GCRA: `tat` is the next free start slot). A grant is
 *   a window of `count` start times `interval` apart, from the first free slot on: windows never
 *   overlap, so the starts of all processes together never exceed the rate, whatever a process
 *   does with its window (a process that dies with unspent tokens only leaves its window unused).
 *   A window is at most `batchMs` long and starts at most `horizonMs` ahead.
 * - concurrency: slot shares leased per process (`leases` hash: `held:want:expiresAt`), split
 *   fairly among the processes that want slots (water-filling), never more in all than the
 *   configured concurrency. A lease not renewed within its TTL expires: a killed worker's slots
 *   come back.
 * Everything is timed by the calling worker's clock (ms epoch), like the pauses after a 429: a
 * window means the same instants to every process however late its reply is read, so keep worker
 * hosts' clocks in sync (NTP); a host whose clock is off by d may overlap its windows with others'
 * by d. (Timing by the Redis server's clock instead leaves each process to map the reply to its
 * own clock when it reads it: on a loaded host that is tens of ms late, and late starts bunch.)
 */
/** How long a rate that drew a 429 stays the ceiling of recovery (ms). */
export const BAD_MEMORY_MS = 15_000;

const COMMON = `
local state, okKey = KEYS[1], KEYS[2]
local function n(v) return tonumber(v) or 0 end
local function snapshot()
  return redis.call('HGETALL', state)
end
local function init(configured, concurrency)
  local eff = tonumber(redis.call('HGET', state, 'effectiveRate'))
  if not eff or eff > configured or eff <= 0 then eff = configured end
  redis.call('HSET', state, 'configuredRate', configured, 'concurrency', concurrency, 'effectiveRate', eff)
  redis.call('HSETNX', state, 'pausedUntil', 0)
  redis.call('HSETNX', state, 'last429At', 0)
  redis.call('HSETNX', state, 'ceiling', 0)
  redis.call('HSETNX', state, 'rateLimitedTotal', 0)
end
local function tick(now)
  local sec = math.floor(now / 1000)
  local fields = redis.call('HKEYS', okKey)
  for _, f in ipairs(fields) do if tonumber(f) < sec - 10 then redis.call('HDEL', okKey, f) end end
  local configured = n(redis.call('HGET', state, 'configuredRate'))
  local eff = n(redis.call('HGET', state, 'effectiveRate'))
  local last429 = n(redis.call('HGET', state, 'last429At'))
  local lastInc = n(redis.call('HGET', state, 'lastIncreaseAt'))
  local cap = configured
  if now - n(redis.call('HGET', state, 'badAt')) < ${BAD_MEMORY_MS} then
    cap = math.min(cap, n(redis.call('HGET', state, 'bad')) * 0.97)
  end
  if eff < cap and now - last429 >= 2000 and now - lastInc >= 1000 then
    local ceiling = n(redis.call('HGET', state, 'ceiling'))
    if now - n(redis.call('HGET', state, 'ceilingAt')) > ${BAD_MEMORY_MS} then ceiling = 0 end
    local nextRate
    if ceiling > 0 and eff < ceiling * 0.95 then
      nextRate = math.min(ceiling * 0.95, eff + math.max(0.5, ceiling * 0.15))
    elseif ceiling > 0 then
      nextRate = eff + math.max(0.2, eff * 0.03)
    else
      nextRate = eff + math.max(1, eff * 0.25)
    end
    if nextRate > cap then nextRate = cap end
    redis.call('HSET', state, 'effectiveRate', nextRate, 'lastIncreaseAt', now)
  end
end
`;

const INIT = `${COMMON}
init(tonumber(ARGV[1]), tonumber(ARGV[2]))
return snapshot()
`;

const ON_429 = `${COMMON}
local now, retryAfter, minRate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local paused = math.max(n(redis.call('HGET', state, 'pausedUntil')), now + retryAfter)
redis.call('HSET', state, 'pausedUntil', paused, 'last429At', now)
redis.call('HINCRBY', state, 'rateLimitedTotal', 1)
-- no rate token is granted for a start inside the pause
if n(redis.call('HGET', state, 'tat')) < paused then redis.call('HSET', state, 'tat', string.format('%.3f', paused)) end
local lastDec = n(redis.call('HGET', state, 'lastDecreaseAt'))
if now - lastDec >= math.max(1000, retryAfter + 500) then
  local eff = n(redis.call('HGET', state, 'effectiveRate'))
  local sec = math.floor(now / 1000)
  -- what the server admitted: the last complete second, or the best of the two before it when
  -- that second saw nothing (all of it paused)
  local est = n(redis.call('HGET', okKey, tostring(sec - 1)))
  if est == 0 then
    for s = sec - 3, sec - 2 do est = math.max(est, n(redis.call('HGET', okKey, tostring(s)))) end
  end
  local target = eff * 0.7
  if est > 0 then target = math.min(eff * 0.85, est * 0.95) end
  if target < minRate then target = minRate end
  -- the rate that just failed: recovery stays below it for a while
  local bad = eff
  local oldBad = n(redis.call('HGET', state, 'bad'))
  if oldBad > 0 and now - n(redis.call('HGET', state, 'badAt')) < ${BAD_MEMORY_MS} and oldBad < bad then bad = oldBad end
  -- where fast recovery may climb back to: the admitted rate, or half the failed rate when the
  -- estimate is distorted by pauses
  local ceiling = math.max(est, eff * 0.5)
  redis.call('HSET', state, 'effectiveRate', target, 'lastDecreaseAt', now, 'ceiling', ceiling, 'ceilingAt', now, 'bad', bad, 'badAt', now)
end
return snapshot()
`;

const TICK = `${COMMON}
tick(tonumber(ARGV[1]))
return snapshot()
`;

const SYNC = `${COMMON}
local leaseKey = KEYS[3]
local now, holder = tonumber(ARGV[1]), ARGV[2]
local okSecond, okCount = ARGV[3], tonumber(ARGV[4])
local wantTokens, wantSlots, inUse = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local leaseTtl, configured, concurrency = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local batchMs, horizonMs = tonumber(ARGV[11]), tonumber(ARGV[12])

-- state lost (a Redis restart without persistence, a FLUSHALL): start again from our settings
if redis.call('HEXISTS', state, 'configuredRate') == 0 then init(configured, concurrency) end
if okCount > 0 then redis.call('HINCRBY', okKey, okSecond, okCount) end
tick(now)

-- slot shares: drop expired leases, split the concurrency fairly among the wants, never hand
-- out slots another process still holds
local C = n(redis.call('HGET', state, 'concurrency'))
local raw = redis.call('HGETALL', leaseKey)
local wants, othersHeld, holders = {}, 0, 1
for i = 1, #raw, 2 do
  local id = raw[i]
  local held, want, exp = string.match(raw[i + 1], '^(%d+):(%d+):(%d+)$')
  held, want, exp = tonumber(held), tonumber(want), tonumber(exp)
  if not exp or exp <= now then
    redis.call('HDEL', leaseKey, id)
  elseif id ~= holder then
    othersHeld = othersHeld + held
    if want > 0 then
      wants[#wants + 1] = { id, math.min(want, C) }
      holders = holders + 1
    end
  end
end
local myWant = math.min(wantSlots, C)
wants[#wants + 1] = { holder, myWant }
table.sort(wants, function(a, b) if a[2] ~= b[2] then return a[2] < b[2] end return a[1] < b[1] end)
local target, remaining, count = 0, C, #wants
for i = 1, count do
  local k = count - i + 1
  local fair = math.floor(remaining / k)
  if wants[i][2] <= fair then
    if wants[i][1] == holder then target = wants[i][2] end
    remaining = remaining - wants[i][2]
  else
    local extra = remaining - fair * k
    for j = i, count do
      local a = fair
      if j - i < extra then a = a + 1 end
      if wants[j][1] == holder then target = math.min(a, wants[j][2]) end
    end
    break
  end
end
local slots = math.max(0, math.min(target, C - othersHeld))
local held = math.max(slots, inUse)
if myWant == 0 and inUse == 0 then
  redis.call('HDEL', leaseKey, holder)
else
  redis.call('HSET', leaseKey, holder, string.format('%d:%d:%.0f', held, myWant, math.ceil(now + leaseTtl)))
  redis.call('PEXPIRE', leaseKey, math.ceil(leaseTtl * 2))
end

-- rate tokens: the next window of the shared schedule
local grantStart, grantCount, interval, retryIn = 0, 0, 0, 0
if wantTokens > 0 then
  local eff = n(redis.call('HGET', state, 'effectiveRate'))
  if eff > 0 then
    interval = 1000 / eff
    local start = math.max(n(redis.call('HGET', state, 'tat')), now)
    if start - now > horizonMs then
      retryIn = start - now - horizonMs
    else
      grantCount = math.min(wantTokens, math.max(1, math.floor(eff * batchMs / 1000)))
      redis.call('HSET', state, 'tat', string.format('%.3f', start + grantCount * interval))
      grantStart = start - now
    end
  end
end
return { snapshot(), slots, tostring(grantStart), grantCount, tostring(interval), tostring(retryIn), holders }
`;

function toRecord(flat: unknown): Record<string, string> {
  const arr = flat as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < arr.length; i += 2) out[arr[i] as string] = arr[i + 1] as string;
  return out;
}

/** What one process asks of the shared limiter state in one `sync`. */
export interface SyncRequest {
  /** This process's lease name (unique per process). */
  holder: string;
  /** Successful requests to add to one second's global count. */
  ok?: { second: number; count: number };
  /** Rate tokens wanted now (0: none, only renew and read). */
  wantTokens: number;
  /** Slots this process could use now (requests waiting + in flight). */
  wantSlots: number;
  /** Slots this process uses now (requests in flight). */
  inUse: number;
  /** The lease expires this long after the call unless renewed (ms). */
  leaseTtlMs: number;
  /** This process's configured rate and concurrency: written back if the state was lost. */
  configuredRate: number;
  concurrency: number;
  /** Longest window one grant covers (ms). */
  batchMs: number;
  /** How far ahead of now a window may start (ms); beyond, nothing is granted. */
  horizonMs: number;
}

export interface SyncReply {
  state: LimiterState;
  /** Slots this process may use until its next sync. */
  slots: number;
  /** The window granted, its start relative to the `now` of the call (ms); absent when nothing was granted. */
  grant?: { startInMs: number; count: number; intervalMs: number };
  /** When nothing was granted because the schedule is full that far ahead: ask again after this (ms). */
  retryInMs: number;
  /** Processes that want slots now, this one included. */
  holders: number;
}

export interface RateController {
  init(configuredRate: number, concurrency: number): Promise<LimiterState>;
  on429(retryAfterMs: number): Promise<LimiterState>;
  tick(): Promise<LimiterState>;
  /** Adds successful requests to the current second's global count. */
  addOk(second: number, count: number): Promise<void>;
  /** Renews this process's slot lease, asks for rate tokens, counts successes, runs `tick`: one script call. */
  sync(req: SyncRequest): Promise<SyncReply>;
}

/** The lowest rate the controller ever lowers to (requests/s). */
export const MIN_RATE = 0.2;

interface Script {
  body: string;
  sha: string;
}
const script = (body: string): Script => ({ body, sha: createHash('sha1').update(body).digest('hex') });
const SCRIPTS = { init: script(INIT), on429: script(ON_429), tick: script(TICK), sync: script(SYNC) };

/** EVALSHA, falling back to EVAL once when the server does not know the script (after a restart). */
async function run(redis: Redis, s: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    return redis.eval(s.body, keys.length, ...keys, ...args);
  }
}

/** `now`: the worker's clock (tests pass their own); `account`: whose limiter (default `default`). */
export function createRateController(redis: Redis, prefix: string, now: () => number = Date.now, account: string = DEFAULT_ACCOUNT): RateController {
  const k = limiterKeys(prefix, account);
  const state = async (s: Script, args: Array<string | number>) => parseLimiterState(toRecord(await run(redis, s, [k.state, k.ok], args)));
  return {
    init: (configuredRate, concurrency) => state(SCRIPTS.init, [configuredRate, concurrency]),
    on429: (retryAfterMs) => state(SCRIPTS.on429, [now(), Math.round(retryAfterMs), MIN_RATE]),
    tick: () => state(SCRIPTS.tick, [now()]),
    async addOk(second, count) {
      await redis.hincrby(k.ok, String(second), count);
    },
    async sync(req) {
      const reply = (await run(redis, SCRIPTS.sync, [k.state, k.ok, k.leases], [
        now(),
        req.holder,
        req.ok?.second ?? 0,
        req.ok?.count ?? 0,
        Math.max(0, Math.floor(req.wantTokens)),
        Math.max(0, Math.floor(req.wantSlots)),
        Math.max(0, Math.floor(req.inUse)),
        Math.max(1, Math.round(req.leaseTtlMs)),
        req.configuredRate,
        req.concurrency,
        req.batchMs,
        req.horizonMs,
      ])) as [string[], number, string, number, string, string, number];
      const [flat, slots, start, count, interval, retryIn, holders] = reply;
      return {
        state: parseLimiterState(toRecord(flat)),
        slots: Number(slots),
        ...(Number(count) > 0 ? { grant: { startInMs: Number(start), count: Number(count), intervalMs: Number(interval) } } : {}),
        retryInMs: Number(retryIn),
        holders: Number(holders),
      };
    },
  };
}
