// The operations layer: what the CLI and the UI both call (bull-board's split of api and adapters).
export { gatherOpsSnapshot, toMetricsSnapshot, type OpsSnapshot, type SnapshotSources } from './snapshot.js';
export { WORKER_ALIVE_WITHIN_MS, isWorkerAlive, readWorkers, servedAccounts, describeWindow, type WorkerStatus } from './liveness.js';
export { checkReadiness, type Readiness, type ReadinessOptions } from './readiness.js';
export { readDeadLetterPage, redriveLetters, toLetterId, countDeadLetters, purgeDeadLetters, type DeadLetterPage } from './dead-letters.js';
export { waitForCloses, type WaitOptions, type WaitProgress, type WaitReport, type DeadLetterSummary, type CloseFinalState } from './wait-for-closes.js';
export { readSlots, summarizeSlots, DEFAULT_OLDEST_LIMIT, type SlotsReport, type SlotSession, type SlotsClient, type ReadSlotsOptions } from './slots.js';
