// The Browserbase API simulator: named exports only.
export { startSimulator, type SimulatorHandle, type CreateSessionsOptions } from './server.js';
export { resolveSimulatorOptions, type SimulatorOptions, type ResolvedSimulatorOptions } from './options.js';
export { DEFAULT_FAULTS, CLOSE_FINISHED_ANSWERS, validateFaults, type Faults, type CloseFinishedAnswer } from './faults.js';
export type { SimulatorStats } from './request-stats.js';
export type { CallRecord } from './call-log.js';
export { SimulatorInputError, type FieldIssue } from './validation.js';
export { MAX_SEED_COUNT } from './admin-routes.js';
