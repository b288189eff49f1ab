import { maskRedisUrls } from '../../config/index.js';
import { createRedis, permanentRedisFault, waitForRedis, type Redis, type RedisSettings } from '../../shared/redis.js';
import { settlesWithin } from '../../shared/time-limit.js';
import { CliError } from './command.js';
import { EXIT } from './exit-codes.js';

/** How long a CLI command waits for Redis to answer its first PING, in ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;
/** How long closing a CLI connection may take before it is dropped, in ms. */
export const REDIS_QUIT_TIMEOUT_MS = 2_000;

/**
 * Opens a Redis connection (one server or a cluster) for a CLI command and checks it answers, so
 * an unreachable Redis, a refused password, an untrusted certificate or an ACL refusal is one
 * clear message (exit 1) instead of a hang. The caller closes it with {@link closeRedis}.
 */
export async function connectRedis(config: RedisSettings, name: string, role: 'producer' | 'worker' = 'producer'): Promise<Redis> {
  const where = `Redis at ${maskRedisUrls(config.redisUrl)} (REDIS_URL / --redis-url)`;
  let redis: Redis;
  try {
    redis = createRedis(config, { role, name: `bb-reaper:${name}` });
  } catch (err) {
    throw new CliError(`cannot use ${where}: ${(err as Error).message}`, EXIT.FAILURE);
  }
  try {
    await waitForRedis(redis, { timeoutMs: REDIS_CONNECT_TIMEOUT_MS });
    return redis;
  } catch (err) {
    redis.disconnect();
    const fault = permanentRedisFault(err);
    if (fault) throw new CliError(`cannot use ${where}: ${fault.message} [${fault.code}]`, EXIT.FAILURE);
    // A cluster says only "Failed to refresh slots cache."; its last node's error says why.
    const node = (err as { lastNodeError?: unknown } | undefined)?.lastNodeError;
    const why = `${err instanceof Error ? err.message : String(err)}${node instanceof Error ? ` (${node.message})` : ''}`;
    throw new CliError(`cannot reach ${where}: ${why}`, EXIT.FAILURE);
  }
}

/** Closes a connection opened by {@link connectRedis}, without waiting forever on a dead server. */
export async function closeRedis(redis: Redis): Promise<void> {
  await settlesWithin(redis.quit(), REDIS_QUIT_TIMEOUT_MS);
  redis.disconnect();
}
