import Bottleneck from 'bottleneck';
import type { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.js';
import { createBottleneckConnection } from './bottleneck-connection.js';
import { limiterKeys, type LimiterState } from './limiter-state.js';
import { createRateController, type RateController } from './rate-controller.js';

export interface GlobalLimiterOptions {
  /** Connection for the limiter's scripts (Bottleneck opens one more for pub/sub). */
  connection: Redis;
  prefix: string;
  /** Configured max requests per second, all workers together. */
  rate: number;
  /** Configured max requests in flight, all workers together. */
  concurrency: number;
  logger: Logger;
  /** A request holding a slot longer than this (ms) gives the slot back. Default {@link DEFAULT_SLOT_EXPIRATION_MS}. */
  slotExpirationMs?: number;
  /** How often the shared state is read and the rate recovered (ms). Default 250. */
  syncIntervalMs?: number;
}

/**
 * Default limiter slot expiry, in ms: the one source of this default (`createCloseWorker` passes
 * its option through). A slot must outlive the longest request it guards, or a second request
 * starts beside a slow one and the global concurrency cap no longer holds: with the client's
 * defaults (`CLIENT_DEFAULTS`) one close can take 10 s connect + 30 s headers + 30 s body, plus up
 * to 10 s of verify polls (`DEFAULT_VERIFY_TIMEOUT_MS`) = 80 s. `bb-reaper worker` computes a
 * tighter value from its `--request-timeout` (`worker/service.ts`), so a dead worker's slots come
 * back sooner.
 */
export const DEFAULT_SLOT_EXPIRATION_MS = 90_000;

/** Thrown into work that was still waiting for a slot when the limiter stopped. */
export class LimiterStoppedError extends Error {
  constructor() {
    super('limiter stopped before this request got a slot');
    this.name = 'LimiterStoppedError';
  }
}

export interface GlobalLimiter {
  /**
   * Runs `fn` when a global slot is free: at most `effectiveRate` starts per second, evenly
   * spaced, and at most `concurrency` in flight, across every worker process.
   */
  schedule<T>(fn: () => Promise<T>): Promise<T>;
  /** ms epoch until which requests must not be sent (0 when not paused), as last seen. */
  pausedUntil(): number;
  /** Records a 429: pauses every worker and lowers the shared rate. Returns the new state. */
  report429(retryAfterMs: number): Promise<LimiterState>;
  /** Counts a successful request (feeds the limit estimate). */
  reportOk(): void;
  /** The state as last synced. */
  state(): LimiterState;
  /** Requests waiting in this process for a slot. */
  queued(): number;
  /** Stops: waiting work is rejected with `LimiterStoppedError`, in-flight work finishes. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The global limiter: a clustered Bottleneck (its state in Redis, so rate spacing and the
 * concurrency cap hold across all processes) whose rate is steered by the shared
 * `RateController` (429 pauses and adaptive rate).
 */
export async function createGlobalLimiter(opts: GlobalLimiterOptions): Promise<GlobalLimiter> {
  const { connection, prefix, logger } = opts;
  const syncMs = opts.syncIntervalMs ?? 250;
  const expiration = opts.slotExpirationMs ?? DEFAULT_SLOT_EXPIRATION_MS;
  const controller: RateController = createRateController(connection, prefix);
  let current = await controller.init(opts.rate, opts.concurrency);
  const bnConnection = createBottleneckConnection(connection);
  const bottleneck = new Bottleneck({
    id: limiterKeys(prefix).bottleneckId,
    datastore: 'ioredis',
    connection: bnConnection.connection,
    clearDatastore: false,
    maxConcurrent: opts.concurrency,
    minTime: minTimeFor(current.effectiveRate),
    trackDoneStatus: false,
  });
  bottleneck.on('error', (err: Error) => logger.warn({ err: err.message }, 'limiter error'));
  await bottleneck.ready();
  // The first limiter's settings win in a cluster: apply ours explicitly.
  await bottleneck.updateSettings({ maxConcurrent: opts.concurrency, minTime: minTimeFor(current.effectiveRate) });
  let appliedRate = current.effectiveRate;
  let stopped = false;

  let okSecond = Math.floor(Date.now() / 1000);
  let okCount = 0;
  const flushOk = async () => {
    if (okCount === 0) return;
    const [s, c] = [okSecond, okCount];
    okCount = 0;
    await controller.addOk(s, c);
  };

  const apply = async (state: LimiterState) => {
    current = state;
    if (Math.abs(state.effectiveRate - appliedRate) / appliedRate > 0.005) {
      appliedRate = state.effectiveRate;
      await bottleneck.updateSettings({ minTime: minTimeFor(state.effectiveRate) });
      logger.info({ effectiveRate: round(state.effectiveRate), configuredRate: state.configuredRate }, 'limiter rate changed');
    }
  };

  let syncing = false;
  const timer = setInterval(() => {
    if (syncing) return;
    syncing = true;
    flushOk()
      .then(() => controller.tick())
      .then(apply)
      .catch((err: Error) => logger.debug({ err: err.message }, 'limiter sync failed (Redis unavailable?)'))
      .finally(() => (syncing = false));
  }, syncMs);
  timer.unref();

  return {
    schedule<T>(fn: () => Promise<T>): Promise<T> {
      if (stopped) return Promise.reject(new LimiterStoppedError());
      return bottleneck.schedule({ expiration }, fn).catch((err: unknown) => {
        if (stopped && err instanceof Bottleneck.BottleneckError) throw new LimiterStoppedError();
        throw err;
      });
    },
    pausedUntil: () => (current.pausedUntil > Date.now() ? current.pausedUntil : 0),
    async report429(retryAfterMs) {
      const state = await controller.on429(retryAfterMs);
      await apply(state);
      return state;
    },
    reportOk() {
      const s = Math.floor(Date.now() / 1000);
      if (s !== okSecond) {
        const [prevS, prevC] = [okSecond, okCount];
        okSecond = s;
        okCount = 0;
        if (prevC > 0) void controller.addOk(prevS, prevC).catch(() => {});
      }
      okCount++;
    },
    state: () => current,
    queued: () => bottleneck.queued(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await bottleneck.stop({ dropWaitingJobs: true, dropErrorMessage: 'limiter stopped' }).catch(() => {});
    },
    async close() {
      stopped = true;
      clearInterval(timer);
      await flushOk().catch(() => {});
      await Promise.resolve(bottleneck.disconnect(false)).catch(() => {});
      await bnConnection.close();
    },
  };
}

/** Bottleneck spacing for a rate: the gap between two request starts, in ms. */
export function minTimeFor(rate: number): number {
  return 1000 / rate;
}

const round = (x: number) => Math.round(x * 100) / 100;
