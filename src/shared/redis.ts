import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis as SingleRedis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';
import { backoffCeilingMs } from './backoff.js';
import { BbReaperError } from './errors.js';

/**
 * A bb-reaper Redis connection: one server, or a Redis Cluster (`BB_REAPER_REDIS_CLUSTER`). Both
 * speak the same commands; on a cluster every key bb-reaper writes shares one hash tag
 * (`keyPrefix` in `names.ts`), so scripts, MULTI and pipelines stay within one slot.
 */
export type Redis = SingleRedis | Cluster;
export { Cluster, SingleRedis };

/** Where bb-reaper looks for Redis when no `REDIS_URL` is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * What a connection is made from: `REDIS_URL` (one URL, or a cluster's comma-separated seed
 * nodes), whether it is a cluster, and the TLS files. Only `redisUrl` is needed.
 */
export type RedisSettings = Pick<Config, 'redisUrl'> & Partial<Pick<Config, 'redisCluster' | 'redisCa' | 'redisCert' | 'redisKey'>>;

export interface CreateRedisOptions {
  /**
   * `worker`: retries forever and queues commands while reconnecting (BullMQ workers need
   * `maxRetriesPerRequest: null`). `producer`: fails fast while Redis is down so callers see the
   * error instead of hanging. `probe`: one attempt, no reconnect, no queueing (is anything there?).
   */
  role?: 'worker' | 'producer' | 'probe';
  /** Connection name shown in `CLIENT LIST`. */
  name?: string;
  /** Longest wait for the TCP (and TLS) connection, ms. Default ioredis's (10 000). */
  connectTimeoutMs?: number;
}

/**
 * The seed URLs of a `REDIS_URL`: split at each comma that starts another `redis://` or
 * `rediss://` URL (a comma elsewhere, e.g. inside a password, stays). One URL gives one element.
 */
export function splitRedisUrls(s: string): string[] {
  return s.split(/,(?=\s*rediss?:\/\/)/i).map((u) => u.trim());
}

/** Reads the TLS files of the settings: undefined for `redis://`; throws `CONFIG_INVALID` naming an unreadable file. */
function tlsOptions(settings: RedisSettings, tls: boolean): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const read = (path: string | undefined, env: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new BbReaperError('CONFIG_INVALID', `cannot read ${env} \`${path}\`: ${(err as Error).message}`);
    }
  };
  const ca = read(settings.redisCa, 'BB_REAPER_REDIS_CA');
  const cert = read(settings.redisCert, 'BB_REAPER_REDIS_CERT');
  const key = read(settings.redisKey, 'BB_REAPER_REDIS_KEY');
  // Without `ca`, Node's own CAs are used, plus NODE_EXTRA_CA_CERTS.
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/**
 * Opens an ioredis connection for bb-reaper: a URL string is one server; settings with
 * `redisCluster` give a `Cluster` over their seed nodes (user, password and TLS of the first seed
 * apply to every node, as announced by the cluster). Attach an `error` listener: we log nothing here.
 */
export function createRedis(url: string, options?: CreateRedisOptions): SingleRedis;
export function createRedis(settings: RedisSettings, options?: CreateRedisOptions): Redis;
export function createRedis(target: string | RedisSettings, { role = 'worker', name, connectTimeoutMs }: CreateRedisOptions = {}): Redis {
  const settings: RedisSettings = typeof target === 'string' ? { redisUrl: target } : target;
  const probe = role === 'probe';
  // Reconnect quickly at first, then every 2 s at most; never give up (a probe never retries).
  const retry = (times: number) => (probe ? null : backoffCeilingMs(times + 1, 50, 2000));
  const seeds = splitRedisUrls(settings.redisUrl);
  const tls = tlsOptions(settings, /^rediss:/i.test(seeds[0] ?? ''));
  const common: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : probe ? 0 : 2,
    enableOfflineQueue: !probe,
    connectionName: name,
    lazyConnect: probe,
    ...(connectTimeoutMs !== undefined ? { connectTimeout: connectTimeoutMs } : {}),
    ...(tls ? { tls } : {}),
  };
  if (settings.redisCluster === true) {
    const nodes = seeds.map((u) => new URL(u));
    const first = nodes[0];
    const clusterOptions: ClusterOptions = {
      redisOptions: {
        ...common,
        ...(first?.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first?.password ? { password: decodeURIComponent(first.password) } : {}),
      },
      clusterRetryStrategy: retry,
      enableOfflineQueue: !probe,
      lazyConnect: probe,
    };
    const cluster = new Cluster(
      nodes.map((u) => ({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) })),
      clusterOptions,
    );
    // Errors surface on the commands that fail; a connection-level error must not crash the process.
    cluster.on('error', () => {});
    return cluster;
  }
  const redis = new SingleRedis(settings.redisUrl, { ...common, retryStrategy: retry });
  redis.on('error', () => {});
  return redis;
}

/**
 * A second connection like `redis` (same server or cluster, same credentials and TLS), named
 * `name`: for blocking reads, which must not hold up the shared connection. The caller closes it.
 */
export function duplicateRedis(redis: Redis, name: string): Redis {
  if (redis instanceof Cluster) return redis.duplicate([], { redisOptions: { ...redis.options.redisOptions, connectionName: name } });
  return redis.duplicate({ connectionName: name });
}

/** TLS errors (Node's codes) that say the server's certificate is not to be trusted. */
const UNTRUSTED_CERTIFICATE = /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_SIGNATURE_FAILURE|CERT_REVOKED|INVALID_CA|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * The failures retrying cannot fix, as one sentence and a code: Redis refused the credentials
 * (`REDIS_AUTH_FAILED`), its TLS certificate is not trusted or the port speaks no TLS
 * (`REDIS_TLS_FAILED`), or its ACL refused a command, key or channel to this user
 * (`REDIS_NO_PERMISSION`). Undefined for anything else (a refused connection, a timeout: Redis
 * may come back). Reads a cluster's `lastNodeError` too. Never shows a password: Redis's own
 * message is quoted, ioredis's command arguments (where `AUTH`'s password is) never are.
 */
export function permanentRedisFault(err: unknown): BbReaperError | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof BbReaperError && (err.code === 'REDIS_AUTH_FAILED' || err.code === 'REDIS_TLS_FAILED' || err.code === 'REDIS_NO_PERMISSION')) return err;
  const nodeError = (err as { lastNodeError?: unknown }).lastNodeError;
  if (nodeError instanceof Error && nodeError !== err) {
    const inner = permanentRedisFault(nodeError);
    if (inner) return inner;
  }
  const message = String(err.message).split('\n')[0] ?? '';
  const code = String((err as NodeJS.ErrnoException).code ?? '');
  if (/^(WRONGPASS|NOAUTH)\b|invalid (username-)?password|AUTH failed/i.test(message)) {
    const hint = /^NOAUTH/.test(message) ? 'give one in REDIS_URL: redis://user:password@host:port' : 'check the user and password in REDIS_URL';
    return new BbReaperError('REDIS_AUTH_FAILED', `Redis refused the credentials (${message}): ${hint}`);
  }
  if (/^NOPERM\b/.test(message)) {
    return new BbReaperError('REDIS_NO_PERMISSION', `Redis refused a command to this ACL user (${message}): grant the user bb-reaper's ACL rule (README, "TLS and ACL Redis")`);
  }
  if (UNTRUSTED_CERTIFICATE.test(code)) {
    const hint = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'use the host name the certificate names in REDIS_URL' : 'set BB_REAPER_REDIS_CA to the CA file that signed it (or NODE_EXTRA_CA_CERTS)';
    return new BbReaperError('REDIS_TLS_FAILED', `the TLS certificate of Redis is not trusted (${message}): ${hint}`);
  }
  if (/wrong version number|packet length too long|unknown protocol/i.test(message) || /^ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG)$/.test(code)) {
    return new BbReaperError('REDIS_TLS_FAILED', `Redis does not speak TLS on this port (${message}): use redis:// or the server's TLS port`);
  }
  return undefined;
}

/**
 * Checks that `redis` answers PING. A failure retrying cannot fix ({@link permanentRedisFault}:
 * wrong password, untrusted certificate, ACL refusal) rejects at once with its one-sentence error,
 * even while the connection keeps retrying in the background. Any other failure (Redis down)
 * rejects with the connection's own error (`connect ECONNREFUSED ...`) unless `untilUp`, which
 * waits it out. With `timeoutMs`, rejects after it with the last error seen (or a timeout).
 */
export async function waitForRedis(redis: Redis, { timeoutMs, untilUp = false }: { timeoutMs?: number; untilUp?: boolean } = {}): Promise<void> {
  let seen: unknown;
  let settled = false;
  let onError: ((err: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = (err: unknown) => {
      seen = err;
      const fault = permanentRedisFault(err);
      if (fault) reject(fault);
    };
    redis.on('error', onError);
    if (redis instanceof Cluster) redis.on('node error', onError);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => reject(seen instanceof Error ? seen : new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    }
  });
  const ping = (async () => {
    for (;;) {
      try {
        await redis.ping();
        return;
      } catch (err) {
        const fault = permanentRedisFault(err) ?? permanentRedisFault(seen);
        if (fault) throw fault;
        if (!untilUp || settled) throw seen instanceof Error ? seen : err;
        // `producer` connections fail commands while reconnecting: ask again shortly.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  try {
    await Promise.race([ping, failed]);
  } finally {
    settled = true;
    ping.catch(() => {});
    failed.catch(() => {});
    clearTimeout(timer);
    if (onError) {
      redis.off('error', onError);
      if (redis instanceof Cluster) redis.off('node error', onError);
    }
  }
}
