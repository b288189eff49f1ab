// The dead-letter feature: the letter (pure), how it reads, the store, the parking worker and the close-status reader.
export { buildDeadLetter, failureOf, redriveData, deadLetterResult, type FailedCloseJob, type FailureCause } from './letter.js';
export {
  describeFailure,
  describeCode,
  describeDeadLetter,
  describeAttempt,
  describeAttemptLine,
  describeHistory,
  deadLetterView,
  deadLetterFields,
  deadLetterTitle,
} from './describe.js';
export {
  DEAD_LETTER_STATES,
  DEFAULT_SETTLE_MS,
  countDeadLetters,
  listDeadLetters,
  readDeadLetters,
  redriveDeadLetters,
  purgeDeadLetters,
  moveToDeadLetter,
  moveFailedToDeadLetter,
  requeueClose,
  type DeadLetterEntry,
  type DeadLetterState,
  type RedriveReport,
  type OnDeadLettered,
} from './store.js';
export { startDeadLetterProcessor, type DeadLetterProcessorOptions } from './parking-worker.js';
export { readCloseStatuses, type CloseStatus, type DeadLetterSummary } from './close-status.js';
