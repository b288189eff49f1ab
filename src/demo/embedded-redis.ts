import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BbReaperError } from '../shared/errors.js';
import { createRedis } from '../shared/redis.js';
import { startRedisServer } from '../shared/redis-server.js';

/** How to get a Redis when none answers and no `redis-server` binary exists. */
export const REDIS_INSTALL_HINT =
  'start one with `docker compose up -d redis` (from the repository), or install the OS package: ' +
  '`sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), `sudo dnf install redis` (Fedora)';

/** A Redis for the demo: the one at the given URL, or a private `redis-server` child process. */
export interface DemoRedis {
  url: string;
  /** True when this process started the server (it is stopped and its data deleted on `close()`). */
  embedded: boolean;
  close(): Promise<void>;
}

/** True when a Redis answers PING at `url` within `timeoutMs`. Never retries. */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const r = createRedis(url, { role: 'probe', connectTimeoutMs: timeoutMs });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** The absolute path of `name` on the PATH, or undefined. */
export async function findExecutable(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Uses the Redis at `url` when it answers; otherwise starts `redis-server` on a free loopback port
 * with its data in a temporary directory (no persistence, `noeviction`). Throws `REDIS_UNAVAILABLE`
 * with install instructions when there is no binary.
 */
export async function ensureRedis(url: string, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<DemoRedis> {
  if (await pingRedis(url)) return { url, embedded: false, close: async () => {} };
  const binary = await findExecutable('redis-server');
  if (!binary) throw new BbReaperError('REDIS_UNAVAILABLE', `no Redis answers at ${url} and there is no \`redis-server\` on the PATH to start one: ${REDIS_INSTALL_HINT}`);
  const server = await startRedisServer({ binary, timeoutMs });
  return { url: server.url, embedded: true, close: () => server.close() };
}
