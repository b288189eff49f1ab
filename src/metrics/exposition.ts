import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LeaseCounts } from '../leases/lease-store.js';
import { CLOSE_OUTCOMES, DEFAULT_ACCOUNT, LATENCY_BUCKETS_SECONDS, type CounterSnapshot } from './counters.js';

/** The lease events counted by `bb_reaper_lease_events_total{event}`. */
export const LEASE_EVENTS = ['created', 'renewed', 'fired', 'released', 'cancelled'] as const;

/** Queue depths shown as `bb_reaper_queue_jobs{account,state}`. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'dead'] as const;

/** The limiter state the worker keeps in Redis (shape of `readLimiterState`). */
export interface LimiterGauges {
  /** Configured max requests per second, all workers together. */
  configuredRate: number;
  /** Rate in force now (lower after 429s), requests per second. */
  effectiveRate: number;
  /** Max requests in flight, all workers together. */
  concurrency: number;
  /** ms since the epoch until which every worker is paused by a 429; 0 when not paused. */
  pausedUntil: number;
  /** ms since the epoch of the last 429; 0 when none. */
  last429At: number;
}

/** Everything `/metrics` shows, gathered from Redis by the `ui` process. */
export interface MetricsSnapshot {
  /** All accounts together (what `byAccount` adds up to). */
  counters: CounterSnapshot;
  /** Counters by account; absent: all of `counters` is `default`'s. */
  byAccount?: Record<string, CounterSnapshot>;
  /** Limiter state by account; absent: `limiter` is `default`'s. */
  limiters?: Record<string, LimiterGauges | null>;
  queues: Record<(typeof QUEUE_STATES)[number], number>;
  /** Queue depths by account (each account's close queue, and its dead letters); absent: `queues` is `default`'s. */
  queuesByAccount?: Record<string, Record<(typeof QUEUE_STATES)[number], number>>;
  /** `null` when no worker has written limiter state yet. */
  limiter: LimiterGauges | null;
  /** Worker processes with a heartbeat within the readiness window. */
  workers: number;
  /** The time the snapshot was taken, ms since the epoch (decides "paused"). */
  now: number;
  /** Lease counts; absent counts as none. */
  leases?: LeaseCounts;
  /** Lease counts by account; absent: `leases` is `default`'s. */
  leasesByAccount?: Record<string, LeaseCounts>;
}

/**
 * A histogram whose buckets were counted elsewhere (by the worker processes, summed in Redis):
 * prom-client renders it like any histogram, with the counts given instead of observed.
 */
class PrecountedHistogram extends Histogram<'le' | 'account'> {
  readonly #config: { name: string; help: string };
  readonly #counts: Record<string, CounterSnapshot['latency']>;
  constructor(name: string, help: string, counts: Record<string, CounterSnapshot['latency']>, registry: Registry) {
    super({ name, help, buckets: [...LATENCY_BUCKETS_SECONDS], labelNames: ['account'], registers: [registry] });
    this.#config = { name, help };
    this.#counts = counts;
  }
  override async get(): Promise<HistogramData> {
    const { name, help } = this.#config;
    const values: Array<{ metricName: string; labels: { le?: string; account: string }; value: number }> = [];
    for (const [account, counts] of Object.entries(this.#counts)) {
      let cumulative = 0;
      for (const le of [...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']) {
        cumulative += counts.buckets[le] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { account, le }, value: cumulative });
      }
      values.push({ metricName: `${name}_sum`, labels: { account }, value: counts.sum }, { metricName: `${name}_count`, labels: { account }, value: cumulative });
    }
    // prom-client's typings declare `type` as an enum, its runtime (and the text) uses the string.
    return { name, help, type: 'histogram', aggregator: 'sum', values } as unknown as HistogramData;
  }
  /** The registry renders text from this method when present (prom-client 15). */
  async getForPromString(): Promise<HistogramData> {
    return this.get();
  }
}

type HistogramData = Awaited<ReturnType<Histogram<'le' | 'account'>['get']>>;

/**
 * Renders a snapshot in the Prometheus text exposition format (version 0.0.4). A fresh registry
 * per call: concurrent scrapes never share state.
 */
export async function renderMetrics(s: MetricsSnapshot): Promise<{ contentType: string; body: string }> {
  const registry = new Registry();
  const registers = [registry];
  // Every close/request/limiter series carries `account` (`default` without an accounts file).
  const byAccount = s.byAccount ?? { [DEFAULT_ACCOUNT]: s.counters };
  const closes = new Counter({ name: 'bb_reaper_closes_total', help: 'Closes that reached a final state, by account and outcome (closed, already_gone, verified, dead_lettered).', labelNames: ['account', 'outcome'], registers });
  const responses = new Counter({ name: 'bb_reaper_api_responses_total', help: 'Browserbase API responses by account and HTTP status; "error" when no response came (socket error, timeout).', labelNames: ['account', 'status'], registers });
  const limited = new Counter({ name: 'bb_reaper_rate_limited_total', help: '429 answers that paused every worker of the account.', labelNames: ['account'], registers });
  const waited = new Counter({ name: 'bb_reaper_rate_limited_wait_seconds_total', help: 'Sum of the pauses the 429 answers asked for (Retry-After), in seconds.', labelNames: ['account'], registers });
  const retries = new Counter({ name: 'bb_reaper_retries_total', help: 'Retries scheduled with backoff, by account and the error code of the failed attempt.', labelNames: ['account', 'code'], registers });
  for (const [account, c] of Object.entries(byAccount)) {
    for (const outcome of CLOSE_OUTCOMES) closes.inc({ account, outcome }, c.closes[outcome]);
    for (const [status, n] of Object.entries(c.responses)) responses.inc({ account, status }, n);
    limited.inc({ account }, c.rateLimited);
    waited.inc({ account }, c.rateLimitedWaitMs / 1000);
    for (const [code, n] of Object.entries(c.retries)) retries.inc({ account, code }, n);
  }
  new PrecountedHistogram('bb_reaper_api_request_duration_seconds', 'Duration of Browserbase API requests, by account, in seconds.', Object.fromEntries(Object.entries(byAccount).map(([a, c]) => [a, c.latency])), registry);
  const saved = new Counter({
    name: 'bb_reaper_browser_minutes_saved_total',
    help: 'Browser minutes closes saved at most: from each close to the session\'s expiresAt, for sessions still running when released (an upper bound: a session might have ended sooner anyway).',
    labelNames: ['account'],
    registers,
  });
  saved.inc({ account: DEFAULT_ACCOUNT }, 0);
  for (const [account, minutes] of Object.entries(s.counters.minutesSaved ?? {})) saved.inc({ account }, minutes);
  const leasesByAccount = s.leasesByAccount ?? { [DEFAULT_ACCOUNT]: s.leases };
  const leaseEvents = new Counter({ name: 'bb_reaper_lease_events_total', help: 'Lease events by account: created, renewed, fired (closed at the deadline), released (closed before it), cancelled.', labelNames: ['account', 'event'], registers });
  for (const [account, l] of Object.entries(leasesByAccount)) for (const event of LEASE_EVENTS) leaseEvents.inc({ account, event }, l?.[event] ?? 0);

  const depth = new Gauge({ name: 'bb_reaper_queue_jobs', help: "Jobs by account and state: waiting, active, delayed, failed (the account's close queue) and dead (its dead letters).", labelNames: ['account', 'state'], registers });
  for (const [account, q] of Object.entries(s.queuesByAccount ?? { [DEFAULT_ACCOUNT]: s.queues })) for (const state of QUEUE_STATES) depth.set({ account, state }, q[state]);
  new Gauge({ name: 'bb_reaper_workers', help: 'Worker processes with a heartbeat in the last 30 s.', registers }).set(s.workers);
  const activeLeases = new Gauge({ name: 'bb_reaper_leases_active', help: 'Pending leases by account: closes scheduled at a deadline unless renewed (including those past it whose close waits for a worker).', labelNames: ['account'], registers });
  const dueLeases = new Gauge({ name: 'bb_reaper_leases_due', help: 'Pending leases past their deadline, by account: fired, their close waits for a worker to take it.', labelNames: ['account'], registers });
  for (const [account, l] of Object.entries(leasesByAccount)) {
    activeLeases.set({ account }, l?.active ?? 0);
    dueLeases.set({ account }, l?.due ?? 0);
  }

  const limiters = s.limiters ?? { [DEFAULT_ACCOUNT]: s.limiter };
  const gauge = (name: string, help: string, value: (l: LimiterGauges | null) => number) => {
    const g = new Gauge({ name, help, labelNames: ['account'], registers });
    for (const [account, l] of Object.entries(limiters)) g.set({ account }, value(l));
  };
  gauge('bb_reaper_limiter_configured_rate', 'Configured max close requests per second of the account, all workers together.', (l) => l?.configuredRate ?? 0);
  gauge('bb_reaper_limiter_effective_rate', 'Rate in force now (lowered after 429s), requests per second.', (l) => l?.effectiveRate ?? 0);
  gauge('bb_reaper_limiter_concurrency', 'Max requests in flight of the account, all workers together.', (l) => l?.concurrency ?? 0);
  gauge('bb_reaper_limiter_paused', "1 while the account's workers are paused by a 429, else 0.", (l) => (l && l.pausedUntil > s.now ? 1 : 0));
  gauge('bb_reaper_limiter_paused_until_seconds', 'Unix time until which workers are paused by a 429; 0 when never paused.', (l) => (l?.pausedUntil ?? 0) / 1000);
  gauge('bb_reaper_limiter_last_429_seconds', 'Unix time of the last 429; 0 when none.', (l) => (l?.last429At ?? 0) / 1000);

  return { contentType: registry.contentType, body: await registry.metrics() };
}
