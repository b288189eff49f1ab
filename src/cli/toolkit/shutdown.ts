/**
 * Two-stage shutdown for every long-running command (graphile-worker's model): the first
 * SIGTERM/SIGINT runs the graceful step (stop taking work, finish what is in hand), logged; a
 * second signal, or the optional time limit, forces. One implementation, used by `worker`, `ui`,
 * `ingress`, `simulator` and (through {@link onTwoStageSignals}) `demo`.
 */
import { EXIT } from './exit-codes.js';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** How long the forced step may take before the process exits anyway, in ms. */
export const FORCE_GRACE_MS = 2_000;

/** Where the stages are logged: a pino logger fits, as does {@link stderrShutdownLog}. */
export interface ShutdownLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A {@link ShutdownLog} writing plain `bb-reaper: <message>` lines to stderr (commands without a logger). */
export const stderrShutdownLog: ShutdownLog = {
  info: (_fields, message) => void process.stderr.write(`bb-reaper: ${message}\n`),
  warn: (_fields, message) => void process.stderr.write(`bb-reaper: ${message}\n`),
  error: (fields, message) => void process.stderr.write(`bb-reaper: ${message}${typeof fields.err === 'string' ? `: ${fields.err}` : ''}\n`),
};

/**
 * The low-level stages: `first(signal)` on the first SIGTERM/SIGINT, `later(signal)` on every
 * one after it. Returns the function that removes the listeners.
 */
export function onTwoStageSignals(handlers: { first(signal: NodeJS.Signals): void; later(signal: NodeJS.Signals): void }): () => void {
  let seen = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    seen++;
    if (seen === 1) handlers.first(signal);
    else handlers.later(signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
}

export interface ShutdownOptions {
  log: ShutdownLog;
  /** The graceful step: stop taking work and finish what is in hand. A rejection is logged and exits 1. */
  graceful: (signal: NodeJS.Signals) => Promise<void>;
  /** After the first signal, force after this long, in ms. Default: no limit (only a second signal forces). */
  timeoutMs?: number;
  /**
   * The forced step (second signal or time limit), e.g. closing connections at once; the process
   * exits 1 after it, or after {@link FORCE_GRACE_MS} whatever it does. Without it: exit 1 at once.
   */
  force?: () => Promise<unknown>;
  /** After the graceful step succeeded, exit anyway after this long if something still holds the process (ms). */
  exitAfterMs?: number;
  /** The lines logged at each stage. */
  messages?: {
    /** Default `shutting down gracefully (send the signal again to force)`. */
    stopping?: string;
    /** Default `second signal: forcing exit`. */
    secondSignal?: string;
    /** Default `graceful shutdown timed out; forcing exit`. */
    timedOut?: string;
  };
}

/**
 * Waits for SIGTERM/SIGINT, then shuts down in two stages (see the module comment). Resolves with
 * the exit code: 0 after a clean graceful step, 1 when it failed or was forced (when the forced
 * step has no `force`, or takes too long, the process exits 1 itself).
 */
export function shutdownOnSignal(options: ShutdownOptions): Promise<number> {
  const { log, graceful, timeoutMs, force, exitAfterMs, messages = {} } = options;
  return new Promise<number>((resolve) => {
    let done = false;
    let forcing = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      removeListeners();
      resolve(code);
    };
    const forceNow = () => {
      if (forcing || force === undefined) process.exit(EXIT.FAILURE);
      forcing = true;
      setTimeout(() => process.exit(EXIT.FAILURE), FORCE_GRACE_MS).unref();
      void force()
        .catch(() => undefined)
        .finally(() => finish(EXIT.FAILURE));
    };
    const removeListeners = onTwoStageSignals({
      first(signal) {
        log.info({ signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }, messages.stopping ?? 'shutting down gracefully (send the signal again to force)');
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            log.warn({ timeoutMs }, messages.timedOut ?? 'graceful shutdown timed out; forcing exit');
            forceNow();
          }, timeoutMs);
          timer.unref();
        }
        graceful(signal).then(
          () => {
            if (forcing) return;
            finish(EXIT.OK);
            if (exitAfterMs !== undefined) setTimeout(() => process.exit(process.exitCode ?? EXIT.OK), exitAfterMs).unref();
          },
          (err: unknown) => {
            log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
            finish(EXIT.FAILURE);
          },
        );
      },
      later(signal) {
        log.warn({ signal }, messages.secondSignal ?? 'second signal: forcing exit');
        forceNow();
      },
    });
  });
}
