import { assertSessionId } from '../browserbase/session-id.js';
import { LeaseError, parseLeaseTtl, parseRenewEvery, type Ttl } from './lease-options.js';
import { acquireLeases, endLeases, renewLease, type LeaseOutcome, type LeaseStatus, type LeaseTarget } from './lease-store.js';

export interface LeaseOptions {
  /** How long until the close fires unless renewed: ms or a duration (`90s`, `5m`), 10 s to 6 h. */
  ttl: Ttl;
  /** Correlation id, echoed in the results stream. */
  requestId?: string;
  /** Sent as `projectId` with the close. */
  projectId?: string;
  /** Recorded as the close job's `source`. Default `library`. */
  source?: string;
  /**
   * The account whose key closes the session (see the accounts file); default `default`. The
   * lease lives beside that account's close queue (`producer.lease` picks it).
   */
  account?: string;
}

export interface KeepAliveOptions {
  /** Renew this often: ms or a duration, at least 1 s and shorter than the TTL. Default a third of the TTL. */
  every?: Ttl;
  /**
   * Called once when the lease is lost: it fired (renewals did not arrive in time), or someone
   * else released or cancelled it. Renewals have stopped.
   */
  onLost?: (err: LeaseError) => void;
  /** Called when one renewal failed for another reason (Redis unreachable); renewing goes on. */
  onError?: (err: unknown) => void;
}

/** A running `keepAlive`. */
export interface KeepAlive {
  /** Stops renewing (the lease then fires at its deadline, unless released or cancelled). */
  stop(): void;
  readonly stopped: boolean;
}

/**
 * One session's lease: "close it at `expiresAt` unless renewed". Renewals, release and cancel are
 * each one atomic step in Redis, safe with any number of holders and workers.
 */
export interface Lease {
  readonly sessionId: string;
  /** The close job that fires at the deadline (`closeJobIdFor(account, sessionId)`). */
  readonly jobId: string;
  /**
   * What the last call found: `created` / `renewed` (pending until `expiresAt`), `released`,
   * `cancelled`, `ended` (it had fired or ended before), `close_pending` / `close_done` (the
   * session's close was already asked for: no lease was made).
   */
  readonly status: LeaseStatus;
  /** True while the lease is pending as far as this handle knows. */
  readonly active: boolean;
  /** The deadline, ms epoch; undefined once the lease is not pending. */
  readonly expiresAt: number | undefined;
  readonly renewals: number;
  /** The TTL renewals use by default, ms. */
  readonly ttlMs: number;
  /** The last call's full answer. */
  readonly outcome: LeaseOutcome;
  /** Moves the deadline to `ttl` (default the lease's TTL) from now. Throws `LEASE_ENDED` / `LEASE_NOT_FOUND`. */
  renew(ttl?: Ttl): Promise<number>;
  /** Closes the session now, once (a lease that already fired or was released is fine). Throws `LEASE_ENDED` when it was cancelled, `LEASE_NOT_FOUND` without a lease. */
  release(): Promise<LeaseOutcome>;
  /** Forgets the lease: nothing closes. Throws `LEASE_ENDED` when it fired or was released, `LEASE_NOT_FOUND` without a lease. */
  cancel(): Promise<LeaseOutcome>;
  /** Renews on a timer until released, cancelled, stopped or lost. The timer does not keep the process alive. */
  keepAlive(opts?: KeepAliveOptions): KeepAlive;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The error for an outcome that is not a pending lease, or undefined when it is one. */
export function outcomeError(o: LeaseOutcome, action: 'renew' | 'cancel' | 'release'): LeaseError | undefined {
  const s = o.sessionId;
  switch (o.status) {
    case 'created':
    case 'renewed':
    case 'released':
    case 'cancelled':
      return undefined;
    case 'ended': {
      const e = o.ended ?? { state: 'fired', at: 0 };
      const what =
        e.state === 'fired'
          ? `already fired at its deadline (${iso(e.at)}); its close is pending or done`
          : e.state === 'released'
            ? `was already released at ${iso(e.at)}; its close is pending or done`
            : `was already cancelled at ${iso(e.at)}`;
      return new LeaseError('LEASE_ENDED', `the lease of session ${s} ${what}: nothing to ${action}`);
    }
    case 'close_pending':
      return new LeaseError('LEASE_NOT_FOUND', `session ${s} has no lease: its close is already pending`);
    case 'close_done':
      return new LeaseError('LEASE_NOT_FOUND', `session ${s} has no lease: its close is done`);
    default:
      return new LeaseError('LEASE_NOT_FOUND', `session ${s} has no lease (never leased, or forgotten 24 h after its lease ended)`);
  }
}

/**
 * Creates (or, when one is pending, renews) the lease of a session and returns its handle. A
 * session whose close is already pending or done gets none: the handle's `status` says so and
 * `active` is false. Throws `INVALID_LEASE` for a bad TTL, `INVALID_SESSION_ID` for a bad id.
 */
export async function createLease(target: LeaseTarget, sessionId: string, opts: LeaseOptions): Promise<Lease> {
  assertSessionId(sessionId);
  const ttlMs = parseLeaseTtl(opts.ttl);
  const { outcomes, invalid } = await acquireLeases(target, [sessionId], ttlMs, {
    ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
    ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}),
    ...(opts.source !== undefined ? { source: opts.source } : {}),
  });
  if (invalid[0]) throw new LeaseError('INVALID_LEASE', `cannot lease ${sessionId}: ${invalid[0].reason}`);
  return leaseHandle(target, outcomes[0] as LeaseOutcome, ttlMs);
}

/** The handle of a lease whose last known outcome is `first`. */
export function leaseHandle(target: LeaseTarget, first: LeaseOutcome, ttlMs: number): Lease {
  let outcome = first;
  let keeper: { stop(): void } | undefined;
  const pending = () => outcome.status === 'created' || outcome.status === 'renewed';
  const update = (o: LeaseOutcome) => {
    outcome = o;
    if (!pending()) keeper?.stop();
    return o;
  };
  const lease: Lease = {
    sessionId: first.sessionId,
    jobId: first.jobId,
    get status() {
      return outcome.status;
    },
    get active() {
      return pending();
    },
    get expiresAt() {
      return pending() ? outcome.expiresAt : undefined;
    },
    get renewals() {
      return outcome.renewals ?? 0;
    },
    ttlMs,
    get outcome() {
      return outcome;
    },
    async renew(ttl) {
      const ms = ttl === undefined ? ttlMs : parseLeaseTtl(ttl);
      const o = update(await renewLease(target, lease.sessionId, ms));
      const err = outcomeError(o, 'renew');
      if (err) throw err;
      return o.expiresAt as number;
    },
    async release() {
      const [o] = await endLeases(target, 'release', [lease.sessionId]);
      update(o as LeaseOutcome);
      const fine = outcome.status === 'released' || outcome.status === 'close_pending' || outcome.status === 'close_done' || (outcome.status === 'ended' && outcome.ended?.state !== 'cancelled');
      if (!fine) throw outcomeError(outcome, 'release') ?? new LeaseError('LEASE_NOT_FOUND', `session ${lease.sessionId} has no lease`);
      return outcome;
    },
    async cancel() {
      const [o] = await endLeases(target, 'cancel', [lease.sessionId]);
      update(o as LeaseOutcome);
      const fine = outcome.status === 'cancelled' || (outcome.status === 'ended' && outcome.ended?.state === 'cancelled');
      if (!fine) throw outcomeError(outcome, 'cancel') ?? new LeaseError('LEASE_NOT_FOUND', `session ${lease.sessionId} has no lease`);
      return outcome;
    },
    keepAlive(opts = {}) {
      keeper?.stop();
      const every = opts.every === undefined ? Math.max(1000, Math.floor(ttlMs / 3)) : parseRenewEvery(opts.every, ttlMs);
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const handle: KeepAlive = {
        stop() {
          stopped = true;
          if (timer) clearTimeout(timer);
          if (keeper === handle) keeper = undefined;
        },
        get stopped() {
          return stopped;
        },
      };
      const tick = async () => {
        if (stopped) return;
        try {
          await lease.renew();
        } catch (err) {
          if (err instanceof LeaseError) {
            handle.stop();
            opts.onLost?.(err);
            return;
          }
          opts.onError?.(err);
        }
        schedule();
      };
      const schedule = () => {
        if (stopped) return;
        timer = setTimeout(() => void tick(), every);
        timer.unref();
      };
      keeper = handle;
      if (!pending()) {
        handle.stop();
        queueMicrotask(() => opts.onLost?.(outcomeError(outcome, 'renew') ?? new LeaseError('LEASE_NOT_FOUND', `session ${lease.sessionId} has no lease`)));
      } else schedule();
      return handle;
    },
  };
  return lease;
}
