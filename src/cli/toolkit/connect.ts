import { setTimeout as sleep } from 'node:timers/promises';
import { maskUrlPassword, type Config } from '../../config/index.js';
import { createRedis, type Redis } from '../../shared/redis.js';
import { EXIT } from './exit-codes.js';
import { CliError } from './command.js';

/** How long a CLI command waits for Redis to answer its first PING, in ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opens a Redis connection for a CLI command and checks it answers, so an unreachable Redis is
 * one clear message (exit 1) instead of a hang. The caller closes it with `quit()`.
 */
export async function connectRedis(config: Pick<Config, 'redisUrl'>, name: string, role: 'producer' | 'worker' = 'producer'): Promise<Redis> {
  const redis = createRedis(config.redisUrl, { role, name: `bb-reaper:${name}` });
  let lastError: unknown;
  redis.on('error', (err) => (lastError = err));
  const timeout = sleep(REDIS_CONNECT_TIMEOUT_MS, 'timeout' as const, { ref: false });
  try {
    const answer = await Promise.race([redis.ping(), timeout]);
    if (answer === 'timeout') throw new Error(`no answer within ${REDIS_CONNECT_TIMEOUT_MS} ms`);
    return redis;
  } catch (err) {
    redis.disconnect();
    const why = lastError instanceof Error ? lastError.message : err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot reach Redis at ${maskUrlPassword(config.redisUrl)} (REDIS_URL / --redis-url): ${why}`, EXIT.FAILURE);
  }
}

/** Closes a connection opened by {@link connectRedis}, without waiting forever on a dead server. */
export async function closeRedis(redis: Redis): Promise<void> {
  await Promise.race([redis.quit().catch(() => undefined), sleep(2_000, undefined, { ref: false })]);
  redis.disconnect();
}
