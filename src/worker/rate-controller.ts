import type { Redis } from 'ioredis';
import { limiterKeys, parseLimiterState, type LimiterState } from './limiter-state.js';

/**
 * Adaptive rate control shared by all workers, as atomic Lua scripts on one Redis hash:
 * - `init`: a starting worker records the configured rate and concurrency;
 * - `on429`: any worker that sees a 429 pauses everyone until the server's delay has passed and
 *   (at most once per cool-down) lowers the effective rate by at least 15 %, to 95 % of the success
 *   rate observed in the last complete second — what the server really admits — or to 70 % when
 *   nothing succeeded lately;
 * - `tick`: once a second (globally), after 2 s without a 429, the rate climbs back: quickly up to
 *   95 % of the estimated ceiling, then slowly (3 %/s), never above the configured rate nor, for
 *   15 s, above 97 % of the last rate that drew a 429 (so a steady state draws no 429s).
 * Successful requests are counted per second in a second hash so the estimate sees all workers.
 */
/** How long a rate that drew a 429 stays the ceiling of recovery (ms). */
export const BAD_MEMORY_MS = 15_000;

const COMMON = `
local state, okKey = KEYS[1], KEYS[2]
local function n(v) return tonumber(v) or 0 end
local function snapshot()
  return redis.call('HGETALL', state)
end
`;

const INIT = `${COMMON}
local configured, concurrency = tonumber(ARGV[1]), tonumber(ARGV[2])
local eff = tonumber(redis.call('HGET', state, 'effectiveRate'))
if not eff or eff > configured or eff <= 0 then eff = configured end
redis.call('HSET', state, 'configuredRate', configured, 'concurrency', concurrency, 'effectiveRate', eff)
redis.call('HSETNX', state, 'pausedUntil', 0)
redis.call('HSETNX', state, 'last429At', 0)
redis.call('HSETNX', state, 'ceiling', 0)
redis.call('HSETNX', state, 'rateLimitedTotal', 0)
return snapshot()
`;

const ON_429 = `${COMMON}
local now, retryAfter, minRate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local paused = math.max(n(redis.call('HGET', state, 'pausedUntil')), now + retryAfter)
redis.call('HSET', state, 'pausedUntil', paused, 'last429At', now)
redis.call('HINCRBY', state, 'rateLimitedTotal', 1)
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
local now = tonumber(ARGV[1])
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
return snapshot()
`;

function toRecord(flat: unknown): Record<string, string> {
  const arr = flat as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < arr.length; i += 2) out[arr[i] as string] = arr[i + 1] as string;
  return out;
}

export interface RateController {
  init(configuredRate: number, concurrency: number): Promise<LimiterState>;
  on429(retryAfterMs: number): Promise<LimiterState>;
  tick(): Promise<LimiterState>;
  /** Adds successful requests to the current second's global count. */
  addOk(second: number, count: number): Promise<void>;
}

/** The lowest rate the controller ever lowers to (requests/s). */
export const MIN_RATE = 0.2;

export function createRateController(redis: Redis, prefix: string, now: () => number = Date.now): RateController {
  const k = limiterKeys(prefix);
  const run = async (script: string, args: Array<string | number>) =>
    parseLimiterState(toRecord(await redis.eval(script, 2, k.state, k.ok, ...args)));
  return {
    init: (configuredRate, concurrency) => run(INIT, [configuredRate, concurrency]),
    on429: (retryAfterMs) => run(ON_429, [now(), Math.round(retryAfterMs), MIN_RATE]),
    tick: () => run(TICK, [now()]),
    async addOk(second, count) {
      await redis.hincrby(k.ok, String(second), count);
    },
  };
}
