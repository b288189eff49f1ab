import { randomBytes } from 'node:crypto';
import Bottleneck from 'bottleneck';
import type { Redis } from '../shared/redis.js';
import type { Logger } from '../shared/logger.js';
import { workerId } from './heartbeat.js';
import { createLocalBottleneck } from './local-bottleneck.js';
import type { LimiterState } from './limiter-state.js';
import { createRateController, type RateController, type SyncReply } from './rate-controller.js';

export interface GlobalLimiterOptions {
  /** Connection for the limiter's scripts (no other connection is opened). */
  connection: Redis;
  prefix: string;
  /** The account whose limit this is (its own keys, `shared/names.ts` limiterKeyBase). Default `default`. */
  account?: string;
  /** Configured max requests per second, all workers together. */
  rate: number;
  /** Configured max requests in flight, all workers together. */
  concurrency: number;
  logger: Logger;
  /**
   * Lease of this process's slot share (ms): a process that stops renewing it (killed) gives its
   * slots back this long after its last renewal. Keep it above the longest request (a process
   * that cannot renew stops starting requests at once, and the lease must outlive those in
   * flight). Default {@link DEFAULT_SLOT_EXPIRATION_MS}.
   */
  slotExpirationMs?: number;
  /** How often the shared state is read, the lease renewed and the rate recovered (ms). Default 250. */
  syncIntervalMs?: number;
  /**
   * Called when this process learns of a pause after a 429 (its own or another worker's), with
   * the ms epoch it lasts until: the worker stops fetching jobs meanwhile.
   */
  onPause?: (until: number) => void;
  /** Longest window of rate tokens one grant covers (ms); the grant is this much of the rate. Default {@link GRANT_BATCH_MS}. */
  batchMs?: number;
  /** How late a rate token may still be spent after its start time (ms). Default {@link GRANT_GRACE_MS}. */
  graceMs?: number;
}

/**
 * Default lease of a process's slot share, in ms: the one source of this default
 * (`createCloseWorker` passes its option through). The lease must outlive the longest request it
 * guards, or a process cut off from Redis could still have requests in flight when its slots are
 * handed to another, and the global concurrency cap would no longer hold: with the client's
 * defaults (`CLIENT_DEFAULTS`) one close can take 10 s connect + 30 s headers + 30 s body, plus up
 * to 10 s of verify polls (`DEFAULT_VERIFY_TIMEOUT_MS`) = 80 s. `bb-reaper worker` computes a
 * tighter value from its `--request-timeout` (`worker/service.ts`), so a dead worker's slots come
 * back sooner.
 */
export const DEFAULT_SLOT_EXPIRATION_MS = 90_000;
/** Default longest window of one rate grant (ms): 100 ms of the rate per Redis script call. */
export const GRANT_BATCH_MS = 100;
/** Default lateness allowed to a rate token (ms); a token not spent by then is forfeited. */
export const GRANT_GRACE_MS = 100;
/** How far ahead of now the shared schedule may be handed out (ms). */
const GRANT_HORIZON_MS = 1000;
/** Shortest gap between two syncs asked for by demand rather than by the timer (ms). */
const DEMAND_SYNC_GAP_MS = 25;

interface Waiting {
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

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
 * A grant held by this process: `count` start times, `interval` ms apart from `at` (ms epoch).
 * Token `i` may be spent from `at + i * interval` until `graceMs` after it: never before its
 * slot, never later than the grace.
 */
interface Window {
  at: number;
  count: number;
  interval: number;
  /** Index of the first token not yet spent nor forfeited. */
  next: number;
}

/**
 * The global limiter. Redis holds the shared truth, touched by one script call per sync
 * interval and per batch of rate tokens (`rate-controller.ts`): the adaptive rate and 429 pauses,
 * a shared schedule of request starts handed out in windows sized to the rate, and each process's
 * leased share of the concurrency. Each process spends what it was granted in a local Bottleneck:
 * `reservoir` = rate tokens whose start time has come, `maxConcurrent` = its slot share. A token
 * is spent at its start time or within `graceMs` after it, never before; a later one is forfeited,
 * so the starts of all processes together stay within the rate (plus `graceMs` of it) whatever
 * any one of them does.
 */
export async function createGlobalLimiter(opts: GlobalLimiterOptions): Promise<GlobalLimiter> {
  const { connection, prefix, logger } = opts;
  const syncMs = opts.syncIntervalMs ?? 250;
  const leaseTtlMs = opts.slotExpirationMs ?? DEFAULT_SLOT_EXPIRATION_MS;
  // A process that could not renew its lease for this long starts nothing more: what it has in
  // flight still ends before the lease lapses (the lease outlives the longest request).
  const leaseStartGraceMs = Math.min(1000, leaseTtlMs / 4);
  const batchMs = opts.batchMs ?? GRANT_BATCH_MS;
  const graceMs = opts.graceMs ?? GRANT_GRACE_MS;
  const holder = `${workerId()}:${randomBytes(4).toString('hex')}`;
  const controller: RateController = createRateController(connection, prefix, Date.now, opts.account);
  let current = await controller.init(opts.rate, opts.concurrency);
  let appliedRate = current.effectiveRate;
  const bottleneck = createLocalBottleneck(1);
  bottleneck.on('error', (err: Error) => logger.warn({ err: err.message }, 'limiter error'));
  let bnMax = 1;
  /** Weight of the Bottleneck jobs (one per release of tokens) not finished yet. */
  let groupsHeld = 0;

  let stopped = false;
  let closed = false;
  /** Work waiting for a rate token, in order (it enters Bottleneck with its token). */
  const waiting: Waiting[] = [];
  /** Handed to Bottleneck with a token in its reservoir, not started yet. */
  let outstanding = 0;
  let running = 0;
  /** Slot share as last leased. */
  let slots = 0;
  /** Processes wanting slots, this one included, as last synced. */
  let holders = 1;
  /** Local time at which the last successful sync was sent (its lease runs from there). */
  let leaseSentAt = 0;
  let lastSyncAt = 0;
  /** Average duration of a request (ms), to size token requests to what the slots can start. */
  let avgRunMs = 0;
  const windows: Window[] = [];
  let syncing: Promise<void> | undefined;
  let retryGrantAt = 0;
  let pumpTimer: NodeJS.Timeout | undefined;
  let pumpAt = Infinity;
  let pumpQueued = false;

  let okSecond = Math.floor(Date.now() / 1000);
  let okCount = 0;

  const apply = (state: LimiterState) => {
    const previous = current;
    current = state;
    if (state.pausedUntil > previous.pausedUntil && state.pausedUntil > Date.now()) {
      windows.length = 0; // granted before the pause
      opts.onPause?.(state.pausedUntil);
    }
    if (state.effectiveRate > 0 && Math.abs(state.effectiveRate - appliedRate) / appliedRate > 0.005) {
      if (state.effectiveRate < appliedRate) windows.length = 0; // granted at the old, too high rate
      appliedRate = state.effectiveRate;
      logger.info({ effectiveRate: round(state.effectiveRate), configuredRate: state.configuredRate }, 'limiter rate changed');
    }
  };

  /** Tokens not yet spent nor forfeited in the windows held. */
  const unspent = () => windows.reduce((sum, w) => sum + (w.count - w.next), 0);

  /**
   * Rate tokens worth asking for now (0: none yet). A window is spent at the full shared rate,
   * with `avgRunMs / interval` requests in flight while it lasts:
   * - when the slot share holds that, or this process is the only one that wants the rate, one
   *   window covers up to a batch (what the share can start in it), asked for once the windows
   *   held run below half of one;
   * - when it does not and others want the rate too, a window covers no more tokens than there are
   *   slots free for them now: a token the share cannot start in time is lost to the others.
   */
  const tokensWanted = () => {
    if (stopped || current.pausedUntil > Date.now()) return 0;
    const held = unspent();
    const uncovered = waiting.length - held;
    if (uncovered <= 0) return 0;
    // Before the first lease comes back, expect the share asked for.
    const share = slots > 0 ? slots : Math.min(opts.concurrency, waiting.length + outstanding + running);
    if (holders > 1 && (avgRunMs * current.effectiveRate) / 1000 > share) return Math.max(0, Math.min(uncovered, share - running - outstanding - held));
    const batchTokens = Math.max(1, Math.floor((current.effectiveRate * batchMs) / 1000));
    const turns = avgRunMs > 0 ? Math.max(1, batchMs / avgRunMs) : 1;
    const size = Math.max(1, Math.min(batchTokens, Math.ceil(share * turns)));
    return held < Math.ceil(size / 2) ? Math.min(uncovered, size) : 0;
  };

  const sync = (): Promise<void> => {
    if (syncing || closed) return syncing ?? Promise.resolve();
    const now = Date.now();
    const wantTokens = now >= retryGrantAt ? tokensWanted() : 0;
    const ok = okCount > 0 ? { second: okSecond, count: okCount } : undefined;
    if (ok) okCount = 0;
    lastSyncAt = now;
    syncing = controller
      .sync({
        holder,
        ...(ok ? { ok } : {}),
        wantTokens,
        wantSlots: stopped ? 0 : waiting.length + outstanding + running,
        inUse: running,
        leaseTtlMs,
        configuredRate: opts.rate,
        concurrency: opts.concurrency,
        batchMs,
        horizonMs: GRANT_HORIZON_MS,
      })
      .then((reply: SyncReply) => {
        const receivedAt = Date.now();
        leaseSentAt = now;
        slots = reply.slots;
        holders = reply.holders;
        apply(reply.state);
        if (reply.grant) windows.push({ at: now + reply.grant.startInMs, count: reply.grant.count, interval: reply.grant.intervalMs, next: 0 });
        retryGrantAt = reply.retryInMs > 0 ? receivedAt + Math.max(5, reply.retryInMs) : 0;
      })
      .catch((err: Error) => {
        if (ok && ok.second === okSecond) okCount += ok.count;
        logger.debug({ err: err.message }, 'limiter sync failed (Redis unavailable?)');
      })
      .finally(() => {
        syncing = undefined;
        kick();
      });
    return syncing;
  };

  /** Hands Bottleneck the tokens whose time has come, as far as the slot share allows. */
  const pump = () => {
    pumpQueued = false;
    if (stopped) return;
    const now = Date.now();
    const paused = current.pausedUntil > now;
    let due = 0;
    for (const w of windows) {
      const fresh = Math.ceil((now - graceMs - w.at) / w.interval); // first token not stale
      if (fresh > w.next) w.next = Math.min(w.count, fresh);
      const dueTo = Math.min(w.count, Math.floor((now - w.at) / w.interval) + 1);
      if (dueTo > w.next) due += dueTo - w.next;
    }
    while (windows.length > 0 && (windows[0] as Window).next >= (windows[0] as Window).count) windows.shift();
    const leaseOk = now - leaseSentAt <= leaseStartGraceMs;
    const free = paused || !leaseOk ? 0 : slots - running - outstanding;
    const give = Math.min(due, free, waiting.length);
    if (give > 0) {
      // One Bottleneck job for this release: weight `give` spends `give` tokens of its reservoir.
      const group: Array<{ item: Waiting; deadline: number }> = [];
      const items = waiting.splice(0, give);
      for (const w of windows) {
        const dueTo = Math.min(w.count, Math.floor((now - w.at) / w.interval) + 1);
        for (; w.next < dueTo && group.length < items.length; w.next++) group.push({ item: items[group.length] as Waiting, deadline: w.at + w.next * w.interval + graceMs });
        if (group.length === items.length) break;
      }
      outstanding += give;
      groupsHeld += give;
      // Bottleneck's cap follows the share, never below what it already holds (a release holds
      // its weight until its last request ends; the share itself is kept above, request by request).
      const cap = Math.max(1, slots, groupsHeld);
      if (cap !== bnMax) {
        bnMax = cap;
        void bottleneck.updateSettings({ maxConcurrent: bnMax });
      }
      void bottleneck.incrementReservoir(give);
      bottleneck
        .schedule({ weight: give }, () => Promise.all(group.map((g) => start(g.item, g.deadline))))
        .catch((err: unknown) => {
          for (const g of group) g.item.reject(stopped && err instanceof Bottleneck.BottleneckError ? new LimiterStoppedError() : err);
        })
        .finally(() => {
          groupsHeld -= give;
        });
    } else if (groupsHeld === 0 && bnMax !== Math.max(1, slots)) {
      bnMax = Math.max(1, slots);
      void bottleneck.updateSettings({ maxConcurrent: bnMax });
    }
    // More tokens or slots needed: ask now rather than at the next timer sync.
    if (!syncing && now - lastSyncAt >= DEMAND_SYNC_GAP_MS && !paused) {
      const needTokens = now >= retryGrantAt && tokensWanted() > 0;
      const needSlots = waiting.length > 0 && slots === 0;
      if (needTokens || needSlots || (waiting.length > 0 && !leaseOk)) void sync();
    }
    // Wake up for the next token's start time, the end of a pause, or a grant retry.
    if (waiting.length > 0) {
      let at = Infinity;
      if (paused) at = current.pausedUntil;
      else {
        const w = windows.find((x) => x.next < x.count);
        if (w && slots - running - outstanding > 0) at = Math.max(now + 1, w.at + w.next * w.interval);
        if (retryGrantAt > now) at = Math.min(at, retryGrantAt);
        if (!syncing) at = Math.min(at, lastSyncAt + DEMAND_SYNC_GAP_MS);
      }
      wakeAt(at);
    }
  };

  const wakeAt = (at: number) => {
    if (at === Infinity || (pumpTimer && pumpAt <= at)) return;
    if (pumpTimer) clearTimeout(pumpTimer);
    pumpAt = at;
    pumpTimer = setTimeout(() => {
      pumpTimer = undefined;
      pumpAt = Infinity;
      pump();
    }, Math.max(1, Math.ceil(at - Date.now())));
    pumpTimer.unref();
  };

  /** Runs `pump` soon, once for everything that happened in this turn of the event loop. */
  const kick = () => {
    if (pumpQueued || stopped) return;
    pumpQueued = true;
    setImmediate(pump);
  };

  const timer = setInterval(() => void sync(), syncMs);
  timer.unref();

  /** Bottleneck's job: starts the work, unless its token's time has passed (then it waits for another). */
  const start = async (item: Waiting, deadline: number): Promise<void> => {
    outstanding--;
    if (Date.now() > deadline) {
      if (stopped) item.reject(new LimiterStoppedError());
      else {
        waiting.unshift(item);
        kick();
      }
      return;
    }
    running++;
    const started = Date.now();
    try {
      item.resolve(await item.fn());
    } catch (err) {
      item.reject(err);
    } finally {
      running--;
      const ms = Date.now() - started;
      avgRunMs = avgRunMs === 0 ? ms : avgRunMs * 0.9 + ms * 0.1;
      kick();
    }
  };

  return {
    schedule<T>(fn: () => Promise<T>): Promise<T> {
      if (stopped) return Promise.reject(new LimiterStoppedError());
      kick();
      return new Promise<T>((resolve, reject) => waiting.push({ fn, resolve: resolve as (v: unknown) => void, reject }));
    },
    pausedUntil: () => (current.pausedUntil > Date.now() ? current.pausedUntil : 0),
    async report429(retryAfterMs) {
      const state = await controller.on429(retryAfterMs);
      apply(state);
      kick();
      return state;
    },
    reportOk() {
      const s = Math.floor(Date.now() / 1000);
      if (s !== okSecond) {
        // A second just ended: its count goes at once (the next 429's estimate reads it).
        const [prevS, prevC] = [okSecond, okCount];
        okSecond = s;
        okCount = 0;
        if (prevC > 0) void controller.addOk(prevS, prevC).catch(() => {});
      }
      okCount++;
    },
    state: () => current,
    queued: () => waiting.length + outstanding,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (pumpTimer) clearTimeout(pumpTimer);
      for (const item of waiting.splice(0)) item.reject(new LimiterStoppedError());
      await bottleneck.stop({ dropWaitingJobs: true, dropErrorMessage: 'limiter stopped' }).catch(() => {});
    },
    async close() {
      stopped = true;
      clearInterval(timer);
      if (pumpTimer) clearTimeout(pumpTimer);
      await syncing;
      // Last sync: the lease goes (its slots come back at once) and the successes are counted.
      windows.length = 0;
      for (const item of waiting.splice(0)) item.reject(new LimiterStoppedError());
      await sync().catch(() => {});
      closed = true;
      await Promise.resolve(bottleneck.disconnect(false)).catch(() => {});
    },
  };
}

/** The spacing of request starts for a rate: the gap between two of them, in ms. */
export function minTimeFor(rate: number): number {
  return 1000 / rate;
}

const round = (x: number) => Math.round(x * 100) / 100;
