import type { Redis } from '../../src/shared/redis.js';

/**
 * Commands Redis has run so far (from `INFO commandstats`, those run inside Lua scripts included),
 * the script calls (EVALSHA/EVAL) among them, and the count of each command: read before and
 * after a run, the difference is what the run cost.
 */
export async function redisCommandCounts(redis: Redis): Promise<{ all: number; scripts: number; byCommand: Map<string, number> }> {
  let all = 0;
  let scripts = 0;
  const byCommand = new Map<string, number>();
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    all += Number(m[2]);
    byCommand.set(m[1] as string, Number(m[2]));
    if (m[1] === 'evalsha' || m[1] === 'eval') scripts += Number(m[2]);
  }
  return { all, scripts, byCommand };
}
