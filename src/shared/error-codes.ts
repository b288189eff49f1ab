/**
 * Every error code bb-reaper uses, with what it means: the one registry (undici's
 * `lib/core/errors.js` is the model). Callers, the worker, scripts and the JSON APIs branch on
 * these codes, never on message text, and a code is only ever added, never renamed: they appear
 * in dead letters, in `<prefix>:results`, in logs (`code`) and in HTTP answers (`error`).
 *
 * Other modules add their codes HERE (a new `BbReaperError` code does not compile until it is in
 * this list), grouped by who raises it, with one line on what it means and what to do.
 * Not here: the ingress bridge's per-entry rejection codes (`IngressRejectCode`, beside the entry
 * parser in the ingress feature), which name why one stream entry was refused, not an error.
 */
export const ERROR_CODES = {
  // --- The Browserbase client (`BrowserbaseError`): one worker action each (see browserbase/errors.ts).
  /** 429: wait the server's delay (capped) and slow every worker down; never dead-letters. */
  RATE_LIMITED: 'Browserbase answered 429: every worker pauses for its delay; the close goes back to wait',
  /** 5xx, 408, 409, socket errors, timeouts, a malformed 2xx body: retried with backoff. */
  TRANSIENT: 'a failure that may pass (5xx, 408, 409, socket, timeout, malformed answer): retried with backoff, dead-lettered after the last attempt',
  /** 400/401/403/422 and other 4xx, or a 404 that is not Browserbase's own: dead-lettered at once. */
  REJECTED: 'Browserbase (or something before it) refused the request; retrying cannot help: dead-lettered at once',
  /** A 404 with Browserbase's error body: the close counts it as "already gone". */
  NOT_FOUND: 'the session does not exist (Browserbase 404): a close treats it as already gone',
  /** The session id failed validation; no request was made. */
  INVALID_SESSION_ID: 'the session id is not a valid Browserbase session id; nothing was sent',
  /** The caller's `AbortSignal` fired (a shutdown): the close goes back to the queue unsent. */
  ABORTED: 'the request was cancelled by its caller (shutdown); no attempt is used',

  // --- Close jobs and dead letters (the worker, the dead-letter store).
  /** Close job data outside `CLOSE_JOB_LIMITS` or of the wrong types: dead-lettered at once, naming the field. */
  INVALID_JOB: 'the close job data is invalid (the message names the field); dead-lettered without any request',
  /** BullMQ failed the job itself after it stalled too often (its workers kept dying). */
  STALLED: 'the job stalled more often than allowed (its workers died mid-job) and BullMQ failed it',
  /** A dead letter whose cause is not known (failed by something other than bb-reaper's worker). */
  UNKNOWN: 'the job failed for a reason bb-reaper did not record (e.g. failed by another BullMQ client)',
  /** A close for an account no live worker has served for the grace period: dead-lettered (never dropped), re-drive it once a worker serves the account. */
  UNKNOWN_ACCOUNT: 'no worker serves the account this close names (not in any running worker\'s accounts file): dead-lettered, re-drive it once the account is configured',
  /** Not an error: the code of a successful close in logs. */
  OK: 'not an error: the close succeeded',

  // --- Configuration and options (library and CLI).
  /** One or more settings are bad: every bad field at once (exit 2). */
  CONFIG_INVALID: 'the configuration is invalid: each bad setting is listed with where it came from',
  /** A function option is out of range, e.g. `maxLen: 0`. */
  INVALID_OPTION: 'an option passed to a function is invalid (the message names it and its value)',
  /** A duration string such as `1h30m` is malformed or out of bounds (exit 2 in the CLI). */
  INVALID_DURATION: 'a duration is malformed or out of bounds (the message names it and its value)',
  /** `flushIntervalMs` of the metrics recorder is not a number ≥ 0. */
  METRICS_OPTION_INVALID: 'a metrics recorder option is invalid',

  // --- Leases (library, CLI, ingress): "close this session at T unless renewed".
  /** A TTL outside 10 s..6 h, a renewal interval not shorter than the TTL, a deadline too soon or too far (exit 2 in the CLI). */
  INVALID_LEASE: 'a lease option is invalid (the message names it and its value): a TTL must be 10 s to 6 h, a renewal interval shorter than the TTL',
  /** Renewing or cancelling a lease that already fired at its deadline, was released or cancelled (exit 1 in the CLI). */
  LEASE_ENDED: 'the lease already ended (fired at its deadline, released or cancelled) and nothing changed; the message says how and when',
  /** Renewing, cancelling or releasing a session that has no lease. */
  LEASE_NOT_FOUND: 'the session has no lease (never leased, or forgotten 24 h after its lease ended)',

  // --- Redis.
  /** No Redis answers and none could be started (demo, test helpers). */
  REDIS_UNAVAILABLE: 'no Redis answers and none could be started',
  /** Redis refused the user name or password of `REDIS_URL` (WRONGPASS, NOAUTH): fix the URL (exit 1 in the CLI). */
  REDIS_AUTH_FAILED: 'Redis refused the credentials in REDIS_URL (wrong or missing user/password); retrying cannot help',
  /** The TLS handshake with Redis failed for good: its certificate is not trusted (set `BB_REAPER_REDIS_CA`), names another host, or the port speaks no TLS. */
  REDIS_TLS_FAILED: 'the TLS connection to Redis failed: its certificate is not trusted or names another host, or the port speaks no TLS',
  /** Redis's ACL refused a command, key or channel to this user (NOPERM): grant the user bb-reaper's ACL rule. */
  REDIS_NO_PERMISSION: "Redis's ACL refused a command, key or channel to this user (NOPERM); grant the rule the README gives",

  // --- Results stream.
  /** A result entry handed to the results writer is malformed (a bug in the caller). */
  INVALID_RESULT: 'a result entry is malformed (the message names the field)',

  // --- The UI server and its HTTP API (also the `error` field of JSON answers).
  /** Binding beyond loopback without credentials (exit 2 in the CLI). */
  UI_UNSAFE_BIND: 'the UI would listen beyond loopback without a user and password',
  /** The UI password or metrics token is too short (exit 2 in the CLI). */
  UI_WEAK_SECRET: 'the UI password or metrics token is too short',
  /** `url` read before `listen()` resolved (a bug in the caller). */
  UI_NOT_LISTENING: 'the UI server has no URL before `listen()` resolved',
  /** HTTP 400 of the ops API: the body or query is invalid (the message names the field). */
  INVALID_REQUEST: 'HTTP 400: the request body or query is invalid',
  /** HTTP 4xx of the UI without a more precise code. */
  BAD_REQUEST: 'HTTP 4xx: the request was refused',
  /** HTTP 401: credentials required. */
  UNAUTHORIZED: 'HTTP 401: credentials are required',
  /** HTTP 403: the metrics token may only read `GET /metrics`. */
  FORBIDDEN: 'HTTP 403: these credentials do not allow this request',
  /** HTTP 403: a cross-site request (another page's Origin) was refused. */
  CROSS_SITE_REQUEST: 'HTTP 403: a request from another site was refused',
  /** HTTP 429: too many failed logins from this address. */
  TOO_MANY_FAILED_LOGINS: 'HTTP 429: too many failed logins from this address',
  /** HTTP 500: the server failed (logged). */
  INTERNAL: 'HTTP 500: the server failed; the log has the details',

  // --- The CLI.
  /** A command used wrongly (exit 2). */
  USAGE: 'the command was used wrongly (exit 2)',
  /** A command failed (exit 1). */
  CLI_FAILURE: 'the command failed (exit 1)',
  /** The close input (file or stdin) cannot be read on, e.g. an unclosed JSON array. */
  INPUT_MALFORMED: 'the close input cannot be read on (the message says where)',
  /** A JSON result nests too deeply to print. */
  OUTPUT_TOO_DEEP: 'the result nests too deeply to print as JSON',

  // --- The simulator.
  /** Bad simulator options or admin/API input: every bad field listed. */
  SIMULATOR_INVALID_INPUT: 'simulator options or an admin/API request are invalid (each bad field listed)',
} as const satisfies Record<string, string>;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `value` is a registered code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
