import Bottleneck from 'bottleneck';
import type { Redis } from 'ioredis';

/**
 * Bottleneck's ioredis connection with two fixes, applied by subclassing rather than patching the
 * package:
 *
 * 1. **Redis 7 self-healing.** Bottleneck re-initialises its cluster state when a script fails
 *    with `SETTINGS_KEY_NOT_FOUND` (settings key gone after a Redis restart or FLUSHALL) or
 *    `UNKNOWN_CLIENT`, but it compares the message exactly, and Redis 7 prefixes Lua error replies
 *    with `ERR ` (bottleneck#205, #219; `lib/RedisDatastore.js:176`). Without the fix every later
 *    `schedule()` rejects forever. We strip the prefix so the built-in recovery runs.
 * 2. **Key prefix.** Bottleneck names its keys `b_<id>_<name>`; we rename them `<id>_<name>` so
 *    every key bb-reaper writes starts with the configured prefix (the id starts with it).
 */
const BaseConnection = Bottleneck.IORedisConnection as unknown as new (options: { client: Redis }) => BottleneckConnectionInternals;

interface BottleneckConnectionInternals {
  subscriber: Redis;
  __scriptArgs__(name: string, id: string, args: unknown[], cb: (err: Error | null, replies: unknown) => void): unknown[];
  disconnect(flush?: boolean): Promise<void>;
}

const RECOVERABLE = /\b(SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT)\b/;

export class PrefixedIORedisConnection extends BaseConnection {
  override __scriptArgs__(name: string, id: string, args: unknown[], cb: (err: Error | null, replies: unknown) => void): unknown[] {
    const out = super.__scriptArgs__(name, id, args, (err, replies) => {
      if (err && typeof err.message === 'string') {
        const m = RECOVERABLE.exec(err.message);
        if (m?.[1] !== undefined) err.message = m[1];
      }
      cb(err, replies);
    });
    // out = [numKeys, ...keys, ...args, cb]
    const numKeys = out[0] as number;
    for (let i = 1; i <= numKeys; i++) {
      const k = out[i];
      if (typeof k === 'string' && k.startsWith('b_')) out[i] = k.slice(2);
    }
    return out;
  }
}

/**
 * Creates the connection for a clustered Bottleneck limiter: two connections of its own
 * (duplicates of `base`, which stays untouched: Bottleneck sets `setMaxListeners(0)` on its
 * clients, which would break BullMQ's listener accounting on a shared one), and `close()`.
 */
export function createBottleneckConnection(base: Redis): { connection: Bottleneck.IORedisConnection; close(): Promise<void> } {
  const client = base.duplicate();
  client.on('error', () => {});
  const conn = new PrefixedIORedisConnection({ client });
  return {
    connection: conn as unknown as Bottleneck.IORedisConnection,
    async close() {
      await Promise.all([client, conn.subscriber].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
