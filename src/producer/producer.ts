import { DEFAULT_ACCOUNT, DEFAULT_PREFIX, keyPrefix } from '../shared/names.js';
import { noteAccountUsed } from '../shared/account-registry.js';
import { printable } from '../shared/printable.js';
import { LeaseError } from '../leases/lease-options.js';
import { createQueues, type Queues } from '../shared/queues.js';
import { Cluster, createRedis, DEFAULT_REDIS_URL, type Redis, type RedisSettings } from '../shared/redis.js';
import { createLease, type Lease, type LeaseOptions } from '../leases/lease-handle.js';
import { checkAccountField, type CloseInput } from './close-request.js';
import { enqueueCloses, type EnqueueOptions, type EnqueueReport } from './enqueue.js';

export interface ProducerOptions extends Partial<RedisSettings> {
  /**
   * Redis URL (with `redisCluster: true`, comma-separated seed nodes); default
   * `redis://127.0.0.1:6379`. Ignored, with the other Redis settings, when `connection` is given.
   */
  redisUrl?: string;
  /** An ioredis connection (one server or a `Cluster`) to use (the caller keeps owning it). */
  connection?: Redis;
  /** `BB_REAPER_PREFIX`; default `bb-reaper`. On a cluster the keys live under its hash tag (`{bb-reaper}`, see `keyPrefix`). */
  prefix?: string;
}

/** Enqueues closes. Create one per process and `close()` it at exit. */
export interface Producer {
  readonly queues: Queues;
  readonly redis: Redis;
  /** Enqueues the close of one session. */
  closeSession(sessionId: string, opts?: EnqueueOptions): Promise<EnqueueReport>;
  /** Enqueues closes of an array of any size, in chunks. */
  closeSessions(inputs: readonly CloseInput[], opts?: EnqueueOptions): Promise<EnqueueReport>;
  /** Enqueues closes from a stream with bounded memory (job ids are not collected by default). */
  closeSessionsFrom(inputs: AsyncIterable<CloseInput | unknown> | Iterable<CloseInput | unknown>, opts?: EnqueueOptions): Promise<EnqueueReport>;
  /**
   * "Close this session `ttl` from now unless I renew": creates the lease (or renews the pending
   * one) and returns its handle (`renew`, `release`, `cancel`, `keepAlive`, `expiresAt`). A
   * session whose close is already pending or done gets no lease: `status` says so.
   */
  lease(sessionId: string, opts: LeaseOptions): Promise<Lease>;
  close(): Promise<void>;
}

/** The account a lease names, checked: `INVALID_LEASE` naming the bad value. */
function leaseAccount(opts: LeaseOptions | undefined): string {
  const account: unknown = opts?.account;
  if (account === undefined) return DEFAULT_ACCOUNT;
  const problem = checkAccountField(account);
  if (problem !== undefined) throw new LeaseError('INVALID_LEASE', `${problem}, got \`${printable(String(account).slice(0, 80))}\``);
  return account as string;
}

export function createProducer({ redisUrl = DEFAULT_REDIS_URL, connection, prefix = DEFAULT_PREFIX, ...settings }: ProducerOptions = {}): Producer {
  const redis = connection ?? createRedis({ ...settings, redisUrl }, { role: 'producer', name: 'bb-reaper:producer' });
  const queues = createQueues({ connection: redis, prefix: keyPrefix({ prefix, redisCluster: redis instanceof Cluster }) });
  const target = { queues, redis };
  return {
    queues,
    redis,
    closeSession: (sessionId, opts) => enqueueCloses(target, [sessionId], opts),
    closeSessions: (inputs, opts) => enqueueCloses(target, inputs, opts),
    closeSessionsFrom: (inputs, opts) => enqueueCloses(target, inputs, { collectJobIds: false, ...opts }),
    async lease(sessionId, opts) {
      const account = leaseAccount(opts);
      const lease = await createLease({ queue: queues.closeQueueFor(account), redis }, sessionId, opts);
      if (lease.status === 'created') await noteAccountUsed(redis, queues.prefix, account);
      return lease;
    },
    async close() {
      await queues.close();
      if (!connection) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
