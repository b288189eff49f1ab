export { createCloseWorker, defaultPrefetch, type CloseWorker, type CloseWorkerOptions } from './create-worker.js';
export { createCloseProcessor, type CloseProcessorDeps } from './close-processor.js';
export { WorkerEvents, type WorkerEventMap } from './events.js';
export { createGlobalLimiter, LimiterStoppedError, minTimeFor, type GlobalLimiter, type GlobalLimiterOptions } from './limiter.js';
export { limiterKeys, type LimiterState } from './limiter-state.js';
import type { Redis, SingleRedis } from '../shared/redis.js';
import { readLimiterState as readLimiterStateOf } from './limiter-state.js';
/**
 * Reads the limiter state (for the UI, `stats` and tests); undefined when no worker ever ran.
 * LIMITER-TYPES: limiter-state.ts is still typed for one server; a Cluster answers the same HGETALL.
 */
export const readLimiterState = (redis: Redis, prefix: string) => readLimiterStateOf(redis as SingleRedis, prefix);
export { backoffDelayMs, rateLimitPauseMs, DEFAULT_BACKOFF_MAX_MS, MAX_RATE_LIMIT_PAUSE_MS } from './backoff.js';
export {
  listDeadLetters,
  redriveDeadLetters,
  purgeDeadLetters,
  moveToDeadLetter,
  moveFailedToDeadLetter,
  startDeadLetterProcessor,
  describeDeadLetter,
  buildDeadLetter,
  type DeadLetterEntry,
} from '../dead-letters/index.js';
export { startHeartbeat, readWorkerHeartbeats, workerId, HEARTBEAT_INTERVAL_MS } from './heartbeat.js';
export type { MetricsSink, ResultsSink, ResultEntry } from './sinks.js';
