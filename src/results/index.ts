// The results feature: every final outcome in the Redis stream `<prefix>:results`.
export {
  createResultsWriter,
  readResults,
  parseResultFields,
  toResultFields,
  resultDedupeKey,
  RESULT_OUTCOMES,
  DEFAULT_RESULTS_MAX_LEN,
  DEFAULT_RESULTS_DEDUPE_TTL_SECONDS,
  type ResultEntry,
  type ResultRecord,
  type ResultOutcome,
  type ResultsWriter,
  type ResultsWriterOptions,
  type ReadResultsOptions,
} from './results-stream.js';
export { followResults, type FollowResultsOptions } from './follow-results.js';
