// The library API of bb-reaper: named exports only.
export { resolveConfig, ConfigError, PLAN_PRESETS, PLANS, type Config, type ConfigFlags, type Plan } from './config/index.js';
export { BbReaperError, ERROR_CODES, isErrorCode, type ErrorCode } from './shared/errors.js';
export {
  createBrowserbaseClient,
  BrowserbaseError,
  BROWSERBASE_ERROR_CODES,
  classifyStatus,
  isRetryableError,
  parseRetryAfter,
  validateSessionId,
  assertSessionId,
  SESSION_ID_MAX_LENGTH,
  withRetries,
  isTerminalStatus,
  SESSION_STATUSES,
  type BrowserbaseClient,
  type BrowserbaseClientOptions,
  type BrowserbaseErrorCode,
  type CloseOptions,
  type CloseResult,
  type CloseOutcome,
  type Session,
  type SessionWithConnect,
  type SessionStatus,
  type SessionLog,
  type Project,
  type ProjectUsage,
  type BrowserSettings,
  type ProxyConfig,
  type CreateSessionParams,
  type WithRetriesOptions,
} from './browserbase/index.js';
export { createLogger, type Logger } from './shared/logger.js';
export { CLOSE_QUEUE, DEAD_LETTER_QUEUE, CLOSE_JOB_NAME, DEAD_LETTER_JOB_NAME, closeJobId, parseCloseJobId, keys, leaseKeys, keyPrefix, hashTagOf, type KeyScope } from './shared/names.js';
export type { CloseJobData, CloseJobResult, DeadLetterData, AttemptRecord, LeaseEnd } from './shared/jobs.js';
export { CLOSE_JOB_LIMITS, CLOSE_OUTCOMES } from './shared/jobs.js';
export { createQueues, getQueueStats, DEAD_LETTER_STATES, type Queues, type QueueStats } from './shared/queues.js';
export { createRedis, waitForRedis, permanentRedisFault, type Redis, type RedisSettings, type CreateRedisOptions } from './shared/redis.js';
export { aclRules, ACL_COMMANDS, ACL_OPTIONAL_COMMANDS } from './shared/redis-acl.js';
export {
  createProducer,
  enqueueCloses,
  normalizeCloseRequest,
  SourcedInput,
  type Producer,
  type ProducerOptions,
  type EnqueueOptions,
  type EnqueueProgress,
  type EnqueueReport,
  type CloseInput,
  type CloseRequest,
  type InvalidItem,
} from './producer/index.js';
export {
  createCloseWorker,
  createCloseProcessor,
  createGlobalLimiter,
  readLimiterState,
  readWorkerHeartbeats,
  listDeadLetters,
  redriveDeadLetters,
  purgeDeadLetters,
  startDeadLetterProcessor,
  WorkerEvents,
  type CloseWorker,
  type CloseWorkerOptions,
  type WorkerEventMap,
  type GlobalLimiter,
  type LimiterState,
  type DeadLetterEntry,
  type MetricsSink,
  type ResultsSink,
} from './worker/index.js';
export { startWorkerService, type WorkerService, type WorkerServiceOptions } from './worker/service.js';
// Leases: the crash-proof finally block (withSession, producer.lease, the lease store).
export * from './leases/index.js';
export { startSimulator, type SimulatorHandle, type SimulatorOptions, type SimulatorStats } from './simulator/index.js';
export { waitForCloses, type WaitOptions, type WaitProgress, type WaitReport, type DeadLetterSummary, type CloseFinalState } from './ops/wait-for-closes.js';
export {
  startIngressBridge,
  parseIngressEntry,
  INGRESS_FIELDS,
  INGRESS_LIMITS,
  INGRESS_GROUP,
  type IngressBridge,
  type IngressBridgeOptions,
  type IngressBridgeStats,
  type IngressRejectCode,
  type IngressRejection,
  type ParsedIngressEntry,
} from './ingress/index.js';
// The results feature's whole public surface (writer, reader, follower, record types).
export * from './results/index.js';
export {
  startSweepProcessor,
  runSweep,
  findOrphans,
  selectOrphans,
  upsertSweepSchedule,
  removeSweepSchedule,
  listSweepSchedules,
  createSweepQueue,
  parseDuration,
  formatDuration,
  SWEEP_QUEUE,
  type SweepParams,
  type SweepReport,
  type SweepSchedule,
  type SweepProcessor,
  type SweepProcessorOptions,
  type OrphanSummary,
} from './sweep/index.js';
export { createMetricsRecorder, readCounters, renderMetrics, LATENCY_BUCKETS_SECONDS, type MetricsRecorder, type MetricsRecorderOptions, type CounterSnapshot, type MetricsSnapshot } from './metrics/index.js';
export { createUiServer, type UiServer, type UiServerOptions } from './ui/index.js';
export { gatherOpsSnapshot, WORKER_ALIVE_WITHIN_MS, type OpsSnapshot } from './ops/index.js';
