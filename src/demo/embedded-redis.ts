import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { BbReaperError } from '../shared/errors.js';

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
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => {});
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

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
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
  const dir = await mkdtemp(join(tmpdir(), 'bb-reaper-demo-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const embeddedUrl = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await pingRedis(embeddedUrl, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new BbReaperError('REDIS_UNAVAILABLE', `redis-server (${binary}) did not start on port ${port}: ${output.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: embeddedUrl, embedded: true, close: stop };
}
