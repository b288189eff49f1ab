/**
 * The base of every error bb-reaper throws on purpose. Callers branch on `code`, never on the
 * message text (undici's `lib/core/errors.js` is the model).
 */
export class BbReaperError extends Error {
  /** Stable, documented machine-readable code, e.g. `RATE_LIMITED` or `CONFIG_INVALID`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BbReaperError';
    this.code = code;
  }
}
