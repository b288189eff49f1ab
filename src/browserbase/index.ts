// The Browserbase client feature: the typed client, its errors, id validation and retry helpers.
export { createBrowserbaseClient, CLIENT_DEFAULTS, type BrowserbaseClientOptions } from './client.js';
export type { ResponseInfo, ResponseObserver } from './http.js';
export { DEFAULT_VERIFY_TIMEOUT_MS } from './close-session.js';
export { browserSettingsSchema, checkParam, proxiesSchema, type ParamIssue } from './create-params.js';
export { MAX_ERROR_BODY_BYTES, MAX_SERVER_MESSAGE_CHARS, MAX_SUCCESS_BODY_BYTES } from './responses.js';
export {
  BrowserbaseError,
  BROWSERBASE_ERROR_CODES,
  classifyStatus,
  isRetryableError,
  type BrowserbaseErrorCode,
  type RequestSummary,
} from './errors.js';
export { parseRetryAfter, type HeaderSource } from './retry-after.js';
export { assertSessionId, validateSessionId, SESSION_ID_MAX_LENGTH } from './session-id.js';
export { withRetries, retryDelayMs, type WithRetriesOptions } from './with-retries.js';
export * from './types.js';
