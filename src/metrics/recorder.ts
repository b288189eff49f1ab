import type { Redis } from '../shared/redis.js';
import { BbReaperError } from '../shared/errors.js';
import { accountField, bucketFor, codeLabel, DEFAULT_ACCOUNT, FIELD, isFloatField, metricsKey, statusLabel, type CloseOutcomeLabel } from './counters.js';

export interface MetricsRecorderOptions {
  /** Redis connection to flush to (the caller keeps owning it). */
  redis: Redis;
  /** bb-reaper key prefix; counters go to the hash `<prefix>:metrics`. */
  prefix: string;
  /** How often buffered counts are written to Redis, in ms. Default `1000`; `0` disables the timer (call `flush()`). */
  flushIntervalMs?: number;
}

/**
 * What a worker process records. Calls are synchronous and cheap (in-memory increments); counts
 * reach Redis in one pipeline per flush, so `/metrics` of the `ui` process sums every worker.
 */
export interface MetricsRecorder {
  /** One close reached a final state. */
  closeOutcome(outcome: CloseOutcomeLabel): void;
  /** One Browserbase API answer (or `error` when none came: socket reset, timeout) and its duration in ms. */
  apiResponse(status: number | 'error', durationMs: number): void;
  /** One retry was scheduled after an error with this code (`TRANSIENT`, `TIMEOUT`, ...). */
  retry(code: string): void;
  /** One 429 paused the queue, for `retryAfterMs` when the server said. */
  rateLimited(retryAfterMs?: number): void;
  /** A close saved at most this many browser minutes (see `CloseJobResult.minutesSaved`). */
  minutesSaved(minutes: number, account?: string): void;
  /** The same recording methods for one account: its counts carry its name (`account` label on `/metrics`). */
  forAccount(account: string): Pick<MetricsRecorder, 'closeOutcome' | 'apiResponse' | 'retry' | 'rateLimited' | 'minutesSaved'>;
  /** Writes buffered counts to Redis now. Counts a failed write could not store are kept for the next flush. */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left. */
  close(): Promise<void>;
}

/** Creates the recorder a worker process passes to `createCloseWorker({ metrics })`. */
export function createMetricsRecorder({ redis, prefix, flushIntervalMs = 1000 }: MetricsRecorderOptions): MetricsRecorder {
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
    throw new BbReaperError('METRICS_OPTION_INVALID', `Expected \`flushIntervalMs\` to be a number ≥ 0, got \`${flushIntervalMs}\``);
  }
  const key = metricsKey(prefix);
  let pending = new Map<string, number>();
  let flushing: Promise<void> | undefined;

  const add = (field: string, by: number) => {
    pending.set(field, (pending.get(field) ?? 0) + by);
  };

  async function writeOnce(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const pipeline = redis.pipeline();
    for (const [field, by] of batch) {
      if (isFloatField(field)) pipeline.hincrbyfloat(key, field, by);
      else pipeline.hincrby(key, field, Math.round(by));
    }
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed || results.length !== batch.size) throw failed?.[0] ?? new Error('pipeline did not run');
    } catch (err) {
      // Nothing is lost: the batch goes back and is written with the next flush. A pipeline is
      // not atomic, so a partly applied batch could count twice; Redis reports errors per
      // command only for wrong types, which our own hash never has.
      for (const [field, by] of batch) pending.set(field, (pending.get(field) ?? 0) + by);
      throw err;
    }
  }

  function flush(): Promise<void> {
    // One flush at a time; a caller arriving mid-flush waits for it and then writes what is new.
    const run = (flushing ?? Promise.resolve()).catch(() => {}).then(writeOnce);
    const tracked = run.finally(() => {
      if (flushing === tracked) flushing = undefined;
    });
    flushing = tracked;
    return tracked;
  }

  const timer = flushIntervalMs > 0 ? setInterval(() => void flush().catch(() => {}), flushIntervalMs) : undefined;
  timer?.unref();

  const sinkFor = (account: string) => {
    const f = (field: string) => accountField(account, field);
    return {
      closeOutcome(outcome: CloseOutcomeLabel) {
        add(f(FIELD.close(outcome)), 1);
      },
      apiResponse(status: number | 'error', durationMs: number) {
        add(f(FIELD.response(statusLabel(status))), 1);
        const seconds = Number.isFinite(durationMs) && durationMs > 0 ? durationMs / 1000 : 0;
        add(f(FIELD.latencyBucket(bucketFor(seconds))), 1);
        add(f(FIELD.latencySum), seconds);
        add(f(FIELD.latencyCount), 1);
      },
      retry(code: string) {
        add(f(FIELD.retry(codeLabel(code))), 1);
      },
      rateLimited(retryAfterMs?: number) {
        add(f(FIELD.rateLimited), 1);
        if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) add(f(FIELD.rateLimitedWaitMs), retryAfterMs);
      },
      minutesSaved(minutes: number, of: string = account) {
        // one family with its own `account` label, kept under default's fields as before accounts
        if (Number.isFinite(minutes) && minutes > 0) add(FIELD.minutesSaved(of), minutes);
      },
    };
  };
  const sinks = new Map<string, ReturnType<typeof sinkFor>>();

  return {
    ...sinkFor(DEFAULT_ACCOUNT),
    forAccount(account) {
      let sink = sinks.get(account);
      if (!sink) sinks.set(account, (sink = sinkFor(account)));
      return sink;
    },
    flush,
    async close() {
      if (timer) clearInterval(timer);
      await flush();
    },
  };
}
