import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BbReaperError } from './errors.js';

/** A free TCP port on loopback (the OS picks; a tiny race is acceptable for local servers). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A private `redis-server` child process (demo, tests, benchmarks). */
export interface RedisServerHandle {
  url: string;
  port: number;
  /** Its data directory (a temporary one). */
  dir: string;
  /** pid of the running server (0 when stopped), e.g. to read its CPU time. */
  pid(): number;
  /** Stops the server (SIGTERM; with append-only persistence the data survives a restart). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it and deletes its data directory. */
  close(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** Keep data across restarts with append-only persistence (fsync always). Default false. */
  appendOnly?: boolean;
  /** Port; default a free one. */
  port?: number;
  /** The binary; default `redis-server` on the PATH. */
  binary?: string;
  /** How long to wait for it to answer PING (ms). Default 10 000. */
  timeoutMs?: number;
  /**
   * Serve TLS only (`--port 0 --tls-port <port>`) with these PEM files; `url` is then
   * `rediss://localhost:<port>` (the certificate must name `localhost`). Clients may present a
   * certificate signed by `caFile` (`authClients` `optional`, the default), must (`yes`), or are
   * not asked (`no`). Default: plain TCP.
   */
  tls?: { certFile: string; keyFile: string; caFile: string; authClients?: 'yes' | 'no' | 'optional' };
  /** More `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']` or `['--aclfile', f]`. */
  extraArgs?: string[];
}

/**
 * Starts `redis-server` on loopback with its data in a temporary directory, `noeviction` (the only
 * policy safe for queues) and no RDB snapshots. Throws `REDIS_UNAVAILABLE` when it does not start.
 */
export async function startRedisServer({ appendOnly = false, port, binary = 'redis-server', timeoutMs = 10_000, tls, extraArgs = [] }: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'bb-reaper-redis-'));
  const p = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(p), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', tls.authClients ?? 'optional']
    : ['--port', String(p)];
  const args = [
    ...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'always',
    '--maxmemory-policy', 'noeviction', '--loglevel', 'warning', ...extraArgs,
  ];
  async function start(): Promise<void> {
    const c = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    let failed = false;
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', (err) => {
      failed = true;
      out += err.message;
    });
    const ready = await waitForPong(p, timeoutMs, () => failed || c.exitCode !== null, tls !== undefined);
    if (!ready) {
      c.kill('SIGKILL');
      throw new BbReaperError('REDIS_UNAVAILABLE', `${binary} did not start on port ${p}: ${out.trim() || 'no output'}`);
    }
  }
  async function stop(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    await exited;
  }
  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: tls ? `rediss://localhost:${p}` : `redis://127.0.0.1:${p}`,
    port: p,
    dir,
    pid: () => child?.pid ?? 0,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls with a raw PING until `+PONG` (no client library: a server still loading answers
 * -LOADING). A server that demands a password answers -NOAUTH: it is up, and counts as ready.
 * A TLS-only server (which may demand a client certificate) counts as ready once it accepts TCP
 * connections on its port.
 */
async function waitForPong(port: number, timeoutMs: number, dead: () => boolean, overTls = false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead()) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.setTimeout(1000, () => {
        s.destroy();
        resolve(false);
      });
      s.once('connect', () => {
        if (!overTls) return void s.write('PING\r\n');
        s.destroy();
        resolve(true);
      });
      s.once('data', (d: Buffer) => {
        s.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
      s.connect(port, '127.0.0.1');
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
