export { createCloseWorker, defaultPrefetch, type CloseWorker, type CloseWorkerOptions } from './create-worker.js';
export { createCloseProcessor, type CloseProcessorDeps } from './close-processor.js';
export { WorkerEvents, type WorkerEventMap } from './events.js';
export { createGlobalLimiter, LimiterStoppedError, minTimeFor, type GlobalLimiter, type GlobalLimiterOptions } from './limiter.js';
export { limiterKeys, type LimiterState } from './limiter-state.js';
export { readLimiterState } from './limiter-state.js';
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
