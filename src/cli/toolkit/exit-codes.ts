/** The CLI's documented exit codes. */
export const EXIT = {
  /** All done. */
  OK: 0,
  /** Runtime failure (clear message on stderr). */
  FAILURE: 1,
  /** Invalid usage or input. */
  USAGE: 2,
  /** Finished, but some closes were dead-lettered. */
  DEAD_LETTERED: 3,
  /** Stopped by Ctrl-C (128 + SIGINT); what was enqueued stays queued. */
  INTERRUPTED: 130,
} as const;
