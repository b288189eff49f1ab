import { maskUrlPassword, type Config } from '../../config/index.js';
import { createRedis, type Redis } from '../../shared/redis.js';
import { settlesWithin, TimeLimitError, withTimeLimit } from '../../shared/time-limit.js';
import { CliError } from './command.js';
import { EXIT } from './exit-codes.js';

/** How long a CLI command waits for Redis to answer its first PING, in ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;
/** How long closing a CLI connection may take before it is dropped, in ms. */
export const REDIS_QUIT_TIMEOUT_MS = 2_000;

/**
 * Opens a Redis connection for a CLI command and checks it answers, so an unreachable Redis is
 * one clear message (exit 1) instead of a hang. The caller closes it with {@link closeRedis}.
 */
export async function connectRedis(config: Pick<Config, 'redisUrl'>, name: string, role: 'producer' | 'worker' = 'producer'): Promise<Redis> {
  const redis = createRedis(config.redisUrl, { role, name: `bb-reaper:${name}` });
  let lastError: unknown;
  redis.on('error', (err) => (lastError = err));
  try {
    await withTimeLimit(redis.ping(), REDIS_CONNECT_TIMEOUT_MS, 'Redis');
    return redis;
  } catch (err) {
    redis.disconnect();
    const why = err instanceof TimeLimitError ? `no answer within ${REDIS_CONNECT_TIMEOUT_MS} ms` : undefined;
    const cause = lastError instanceof Error ? lastError.message : (why ?? (err instanceof Error ? err.message : String(err)));
    throw new CliError(`cannot reach Redis at ${maskUrlPassword(config.redisUrl)} (REDIS_URL / --redis-url): ${cause}`, EXIT.FAILURE);
  }
}

/** Closes a connection opened by {@link connectRedis}, without waiting forever on a dead server. */
export async function closeRedis(redis: Redis): Promise<void> {
  await settlesWithin(redis.quit(), REDIS_QUIT_TIMEOUT_MS);
  redis.disconnect();
}
