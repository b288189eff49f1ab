import type { ErrorCode } from './error-codes.js';

export { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.js';

/**
 * The base of every error bb-reaper throws on purpose. Callers branch on `code`, never on the
 * message text (undici's `lib/core/errors.js` is the model). Every code, with what it means, is
 * in the one registry, `shared/error-codes.ts`.
 */
export class BbReaperError extends Error {
  /** Stable, documented machine-readable code, e.g. `RATE_LIMITED` or `CONFIG_INVALID` (see `ERROR_CODES`). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BbReaperError';
    this.code = code;
  }
}
