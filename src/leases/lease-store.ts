/**
 * Leases in Redis: create or renew, release (close now), cancel, list and count. Each call is one
 * script (lease-scripts.ts) for any number of sessions, so every step is atomic against BullMQ's
 * promotion of a lease's job at its deadline and against any other caller.
 */
import type { Queue } from 'bullmq';
import type { Redis } from '../shared/redis.js';
import { isInvalid, normalizeCloseItem, SourcedInput, type InvalidItem } from '../producer/close-request.js';
import { storedJobOpts } from '../shared/bullmq-keys.js';
import type { CloseJobData } from '../shared/jobs.js';
import { accountOfQueue, CLOSE_JOB_NAME, closeJobIdFor, DEFAULT_ACCOUNT, leaseKeys, queueLeaseKeys } from '../shared/names.js';
import { COMPLETED_RETENTION } from '../shared/queues.js';
import { runEnd, runSet, runTaken, type LeaseSpec, type ScriptAnswer } from './lease-scripts.js';

/** One account's close queue (`queues.closeQueueFor(account)`: leases live beside it) and a connection to its Redis. */
export interface LeaseTarget {
  queue: Queue<CloseJobData>;
  redis: Redis;
}

/** How a lease ended: at its deadline, closed early (release or a close request), or forgotten. */
export type LeaseEndState = 'fired' | 'released' | 'cancelled';

/**
 * What one lease call did or found for one session:
 * - `created` / `renewed`: the lease is pending until `expiresAt`;
 * - `released` / `cancelled`: this call ended the pending lease (released: the close runs now);
 * - `ended`: the lease had already ended (`ended.state` at `ended.at`): nothing changed;
 * - `close_pending` / `close_done`: the session's close was asked for without a lease: nothing changed;
 * - `none`: the session has neither lease nor close (renew, release, cancel): nothing changed.
 */
export type LeaseStatus = 'created' | 'renewed' | 'released' | 'cancelled' | 'ended' | 'close_pending' | 'close_done' | 'none';

export interface LeaseOutcome {
  sessionId: string;
  /** The lease's close job (`closeJobIdFor(account, sessionId)`). */
  jobId: string;
  status: LeaseStatus;
  /** Deadline, ms epoch (`created`, `renewed`). */
  expiresAt?: number;
  /** Renewals so far (`created`, `renewed`, `ended`). */
  renewals?: number;
  /** How and when the lease ended (`ended`; and `released` / `cancelled`: now). */
  ended?: { state: LeaseEndState; at: number };
}

/** A lease request: a session id, or one with the fields its close job carries. */
export type LeaseInput = string | { sessionId: string; projectId?: string; requestId?: string; account?: string };

export interface AcquireOptions {
  /** Recorded as the close job's `source`. Default `library`. */
  source?: string;
  /** `requestId` / `projectId` for inputs that carry none. */
  requestId?: string;
  projectId?: string;
  /** Now, ms epoch (tests). */
  now?: number;
}

/** Sessions per script call. */
const CHUNK = 500;

function toOutcome(sessionId: string, jobId: string, a: ScriptAnswer): LeaseOutcome {
  const base = { sessionId, jobId };
  if (a.code === 'created' || a.code === 'renewed') return { ...base, status: a.code, expiresAt: a.at, renewals: a.renewals };
  if (a.code === 'released' || a.code === 'cancelled') return { ...base, status: a.code, ended: { state: a.code, at: a.at } };
  if (a.code.startsWith('ended:')) return { ...base, status: 'ended', renewals: a.renewals, ended: { state: a.code.slice(6) as LeaseEndState, at: a.at } };
  if (a.code === 'pending' || a.code === 'leased') return { ...base, status: 'close_pending' };
  if (a.code === 'completed' || a.code === 'failed') return { ...base, status: 'close_done' };
  return { ...base, status: 'none' };
}

const targetOf = ({ queue, redis }: LeaseTarget) => ({ queue, redis, leases: queueLeaseKeys(queue.opts.prefix ?? 'bull', queue.name) });

/** The account whose close queue this is (`default` for `close`). */
export const accountOfTarget = ({ queue }: Pick<LeaseTarget, 'queue'>): string => accountOfQueue(queue.name) ?? DEFAULT_ACCOUNT;

/**
 * Creates leases closing each session `ttlMs` from now, or renews the pending ones to that
 * deadline. A session whose close is already pending or done gets no lease (`close_pending`,
 * `close_done`), nor one whose lease fired or was released (`ended`). Every input is checked
 * like a close request (a `SourcedInput` keeps its origin); invalid ones are returned with the
 * reason and change nothing. `now` (default the clock) with `ttlMs` makes the deadline; a
 * negative `ttlMs` (a deadline already past) fires at once.
 */
export async function acquireLeases<O = unknown>(
  target: LeaseTarget,
  inputs: readonly (LeaseInput | SourcedInput<O>)[],
  ttlMs: number,
  opts: AcquireOptions = {},
): Promise<{ outcomes: LeaseOutcome[]; invalid: InvalidItem<O>[] }> {
  const now = opts.now ?? Date.now();
  const account = accountOfTarget(target);
  const defaults = { account, ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}), ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}) };
  const invalid: InvalidItem<O>[] = [];
  const specs: Array<LeaseSpec & { sessionId: string }> = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    const r = normalizeCloseItem<O>(input, defaults);
    if (isInvalid(r)) {
      invalid.push(r);
      continue;
    }
    if (r.account !== account) {
      // The queue decides the account: an item naming another one is not leased with this key.
      const reason = `\`account\` is \`${r.account}\`, but these leases are for account \`${account}\``;
      invalid.push(input instanceof SourcedInput ? { input: (input as SourcedInput<O>).input, reason, origin: (input as SourcedInput<O>).origin } : { input, reason });
      continue;
    }
    if (seen.has(r.jobId)) continue;
    seen.add(r.jobId);
    const data: CloseJobData & { lease: true } = {
      sessionId: r.sessionId,
      enqueuedAt: now,
      source: opts.source ?? 'library',
      ...(r.projectId !== undefined ? { projectId: r.projectId } : {}),
      ...(r.requestId !== undefined ? { requestId: r.requestId } : {}),
      ...(account !== DEFAULT_ACCOUNT ? { account } : {}),
      lease: true,
    };
    specs.push({
      jobId: r.jobId,
      deadline: now + ttlMs,
      ttlMs,
      data: JSON.stringify(data),
      opts: storedJobOpts(r.jobId, ttlMs, { removeOnComplete: COMPLETED_RETENTION, removeOnFail: false }),
      sessionId: r.sessionId,
      ...(r.requestId !== undefined ? { requestId: r.requestId } : {}),
    });
  }
  const outcomes: LeaseOutcome[] = [];
  for (let i = 0; i < specs.length; i += CHUNK) {
    const chunk = specs.slice(i, i + CHUNK);
    const answers = await runSet(targetOf(target), 'acquire', CLOSE_JOB_NAME, chunk, now);
    chunk.forEach((s, j) => outcomes.push(toOutcome(s.sessionId, s.jobId, answers[j] as ScriptAnswer)));
  }
  return { outcomes, invalid };
}

/** Renews the pending lease of a session to `ttlMs` from now; never creates one. */
export async function renewLease(target: LeaseTarget, sessionId: string, ttlMs: number, now = Date.now()): Promise<LeaseOutcome> {
  const jobId = closeJobIdFor(accountOfTarget(target), sessionId);
  const [a] = await runSet(targetOf(target), 'renew', CLOSE_JOB_NAME, [{ jobId, deadline: now + ttlMs, ttlMs, data: '', opts: '', sessionId }], now);
  return toOutcome(sessionId, jobId, a as ScriptAnswer);
}

/**
 * Ends the pending leases of these sessions: `release` closes each now (through the normal close
 * path), `cancel` forgets it (nothing closes). Leases that are not pending are reported as they are.
 */
export async function endLeases(target: LeaseTarget, mode: 'release' | 'cancel', sessionIds: readonly string[], now = Date.now()): Promise<LeaseOutcome[]> {
  const out: LeaseOutcome[] = [];
  const account = accountOfTarget(target);
  for (let i = 0; i < sessionIds.length; i += CHUNK) {
    const ids = sessionIds.slice(i, i + CHUNK);
    const jobIds = ids.map((id) => closeJobIdFor(account, id));
    const answers = await runEnd(targetOf(target), mode, jobIds, now);
    ids.forEach((id, j) => out.push(toOutcome(id, jobIds[j] as string, answers[j] as ScriptAnswer)));
  }
  return out;
}

/**
 * What a close request finds for existing close jobs: `mode: 'close'` releases pending leases
 * (the close wins: it runs now); `mode: 'check'` leaves them pending. Per job id: `absent` (no
 * job: enqueue it), `released` (a pending lease was released by this request), `leased` (pending
 * lease left alone), `exists` (a close is pending or kept: a duplicate).
 */
export async function checkCloseJobs(target: LeaseTarget, mode: 'close' | 'check', jobIds: readonly string[], now = Date.now()): Promise<Array<'absent' | 'released' | 'leased' | 'exists'>> {
  if (jobIds.length === 0) return [];
  const answers = await runEnd(targetOf(target), mode, jobIds, now);
  return answers.map((a) => (a.code === 'released' ? 'released' : a.code === 'leased' ? 'leased' : a.jobExists ? 'exists' : 'absent'));
}

/**
 * Called by the worker when it takes a close job that a lease created: a pending lease fired now.
 * Returns how the lease ended (`fired`, or `released` by `release` / by a close request) and its
 * deadline, when known.
 */
export async function settleTakenLease(target: LeaseTarget, jobId: string, now = Date.now()): Promise<{ state?: string; endedBy?: string; deadline?: number }> {
  return runTaken(targetOf(target), jobId, now);
}

/** A pending lease, as listed. */
export interface LeaseInfo {
  sessionId: string;
  jobId: string;
  /** Deadline, ms epoch. */
  expiresAt: number;
  /** TTL of the last creation or renewal, ms. */
  ttlMs: number;
  renewals: number;
  requestId?: string;
  createdAt: number;
  /** The account whose close queue holds the lease (whose key closes the session). */
  account: string;
}

/** One account's pending leases, soonest deadline first (`offset`, `limit`), and how many there are. */
export async function listLeases(target: LeaseTarget, { offset = 0, limit = 100 }: { offset?: number; limit?: number } = {}): Promise<{ total: number; leases: LeaseInfo[] }> {
  const { redis } = target;
  const k = targetOf(target).leases;
  const account = accountOfTarget(target);
  const [total, rows] = await Promise.all([redis.zcard(k.deadlines), redis.zrange(k.deadlines, offset, offset + limit - 1, 'WITHSCORES')]);
  const ids: Array<[string, number]> = [];
  for (let i = 0; i + 1 < rows.length; i += 2) ids.push([rows[i] as string, Number(rows[i + 1])]);
  const pipeline = redis.pipeline();
  for (const [id] of ids) pipeline.hgetall(k.lease(id));
  const hashes = ((await pipeline.exec()) ?? []).map(([, v]) => (v ?? {}) as Record<string, string>);
  const leases = ids.map(([jobId, deadline], i): LeaseInfo => {
    const h = hashes[i] ?? {};
    return {
      sessionId: h.sessionId ?? jobId,
      jobId,
      expiresAt: deadline,
      ttlMs: Number(h.ttl ?? 0),
      renewals: Number(h.renewals ?? 0),
      ...(h.requestId ? { requestId: h.requestId } : {}),
      createdAt: Number(h.createdAt ?? 0),
      account,
    };
  });
  return { total, leases };
}

/**
 * The pending leases of several accounts together, soonest deadline first: each account's first
 * `offset + limit` merged, then the page cut. `total` counts every account's.
 */
export async function listAccountsLeases(
  { queues, redis }: { queues: { closeQueueFor(account: string): Queue<CloseJobData> }; redis: Redis },
  accounts: readonly string[],
  { offset = 0, limit = 100 }: { offset?: number; limit?: number } = {},
): Promise<{ total: number; leases: LeaseInfo[] }> {
  const pages = await Promise.all(accounts.map((a) => listLeases({ queue: queues.closeQueueFor(a), redis }, { offset: 0, limit: offset + limit })));
  const leases = pages
    .flatMap((p) => p.leases)
    .sort((a, b) => a.expiresAt - b.expiresAt || a.account.localeCompare(b.account))
    .slice(offset, offset + limit);
  return { total: pages.reduce((n, p) => n + p.total, 0), leases };
}

/** Lease counts: pending now, and events since the prefix was first used. */
export interface LeaseCounts {
  /** Pending leases (their deadline not passed, or passed and their close waiting for a worker). */
  active: number;
  /** Of `active`, those past their deadline: fired, their close waits for a worker to take it. */
  due: number;
  created: number;
  renewed: number;
  /** Closed at their deadline (the holder stopped renewing). */
  fired: number;
  /** Closed before their deadline: `release()`, `lease --release`, or a close request. */
  released: number;
  cancelled: number;
}

/** Reads one account's lease counts (three commands, whatever the number of leases). */
export async function readLeaseCounts(redis: Redis, prefix: string, now = Date.now(), account: string = DEFAULT_ACCOUNT): Promise<LeaseCounts> {
  const k = leaseKeys(prefix, account);
  const [active, due, raw] = await Promise.all([redis.zcard(k.deadlines), redis.zcount(k.deadlines, '-inf', now), redis.hgetall(k.counts)]);
  const n = (v: string | undefined) => (Number.isFinite(Number(v)) ? Number(v) : 0);
  return { active, due, created: n(raw.created), renewed: n(raw.renewed), fired: n(raw.fired), released: n(raw.released), cancelled: n(raw.cancelled) };
}

/** Lease counts added up (several accounts'). */
export function sumLeaseCounts(counts: readonly LeaseCounts[]): LeaseCounts {
  const total: LeaseCounts = { active: 0, due: 0, created: 0, renewed: 0, fired: 0, released: 0, cancelled: 0 };
  for (const c of counts) for (const f of Object.keys(total) as Array<keyof LeaseCounts>) total[f] += c[f];
  return total;
}
