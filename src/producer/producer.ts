import type { Redis } from 'ioredis';
import { DEFAULT_PREFIX } from '../shared/names.js';
import { createQueues, type Queues } from '../shared/queues.js';
import { createRedis, DEFAULT_REDIS_URL } from '../shared/redis.js';
import type { CloseInput } from './close-request.js';
import { enqueueCloses, type EnqueueOptions, type EnqueueReport } from './enqueue.js';

export interface ProducerOptions {
  /** Redis URL; default `redis://127.0.0.1:6379`. Ignored when `connection` is given. */
  redisUrl?: string;
  /** An ioredis connection to use (the caller keeps owning it). */
  connection?: Redis;
  /** Key prefix; default `bb-reaper`. */
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
  close(): Promise<void>;
}

export function createProducer({ redisUrl = DEFAULT_REDIS_URL, connection, prefix = DEFAULT_PREFIX }: ProducerOptions = {}): Producer {
  const redis = connection ?? createRedis(redisUrl, { role: 'producer', name: 'bb-reaper:producer' });
  const queues = createQueues({ connection: redis, prefix });
  const target = { queues, redis };
  return {
    queues,
    redis,
    closeSession: (sessionId, opts) => enqueueCloses(target, [sessionId], opts),
    closeSessions: (inputs, opts) => enqueueCloses(target, inputs, opts),
    closeSessionsFrom: (inputs, opts) => enqueueCloses(target, inputs, { collectJobIds: false, ...opts }),
    async close() {
      await queues.close();
      if (!connection) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
