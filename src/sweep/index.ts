// Orphan sweeps: find sessions left running and enqueue their closes, once or on a schedule.
export { parseDuration, formatDuration, DurationError, DURATION_UNITS, type DurationBounds, type DurationUnit } from '../shared/duration.js';
export { findOrphans, selectOrphans, sessionStartMs, type OrphanSelection, type OrphanSummary, type SweepParams } from './find-orphans.js';
export { runSweep, type RunSweepOptions, type SweepReport } from './run-sweep.js';
export {
  createSweepQueue,
  upsertSweepSchedule,
  removeSweepSchedule,
  listSweepSchedules,
  SWEEP_QUEUE,
  SWEEP_JOB_NAME,
  DEFAULT_SCHEDULE_NAME,
  MIN_SWEEP_EVERY_MS,
  SCHEDULE_NAME_PATTERN,
  type SweepJobData,
  type SweepSchedule,
} from './scheduler.js';
export { startSweepProcessor, type SweepProcessor, type SweepProcessorOptions, type SweepJobResult } from './processor.js';
