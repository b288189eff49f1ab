import { Redis, type RedisOptions } from 'ioredis';
import { backoffCeilingMs } from './backoff.js';

export type { Redis };

/** Where bb-reaper looks for Redis when no `REDIS_URL` is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface CreateRedisOptions {
  /**
   * `worker`: retries forever and queues commands while reconnecting (BullMQ workers need
   * `maxRetriesPerRequest: null`). `producer`: fails fast while Redis is down so callers see the
   * error instead of hanging.
   */
  role?: 'worker' | 'producer';
  /** Connection name shown in `CLIENT LIST`. */
  name?: string;
}

/** Opens an ioredis connection for bb-reaper. Attach an `error` listener: we log nothing here. */
export function createRedis(url: string, { role = 'worker', name }: CreateRedisOptions = {}): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : 2,
    enableOfflineQueue: true,
    connectionName: name,
    // Reconnect quickly at first, then every 2 s at most; never give up.
    retryStrategy: (times) => backoffCeilingMs(times + 1, 50, 2000),
    lazyConnect: false,
  };
  const redis = new Redis(url, options);
  // Errors surface on the commands that fail; a connection-level error must not crash the process.
  redis.on('error', () => {});
  return redis;
}
