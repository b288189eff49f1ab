/**
 * One place for queue names, job names, job ids and Redis key names. Every key bb-reaper writes
 * starts with the key prefix: `BB_REAPER_PREFIX` (default `bb-reaper`), wrapped in a hash tag on
 * Redis Cluster ({@link keyPrefix}). Functions below that take a `prefix` take that key prefix.
 */

/** Key prefix when none is configured (`BB_REAPER_PREFIX` / `--prefix`): the one place this default is written. */
export const DEFAULT_PREFIX = 'bb-reaper';

/** BullMQ queue that holds pending close requests. */
export const CLOSE_QUEUE = 'close';
/** BullMQ queue that holds closes that failed for good, with their provenance. */
export const DEAD_LETTER_QUEUE = 'dead-letter';
/** Job name of a close request (other-language BullMQ clients must use it). */
export const CLOSE_JOB_NAME = 'close-session';
/** BullMQ queue of recurring sweeps (`bb-reaper sweep --every`). */
export const SWEEP_QUEUE = 'sweep';
/** Job name of a dead letter. */
export const DEAD_LETTER_JOB_NAME = 'dead-letter';

/** The account of a close that names none, and the one `BROWSERBASE_API_KEY` forms. */
export const DEFAULT_ACCOUNT = 'default';
/** What an account name looks like: it appears in queue names, job ids, metrics labels and CLI flags. */
export const ACCOUNT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** {@link ACCOUNT_NAME_PATTERN} in words, for messages. */
export const ACCOUNT_NAME_RULE = '1-63 characters of lowercase letters, digits, `_` and `-`, starting with a letter or digit';

/**
 * The BullMQ queue of one account's pending closes: `close` for `default` (the queue of every
 * release before accounts), `close@<account>` for the others. A queue per account is what gives
 * each account its own limit and keeps one account's backlog from delaying another's closes.
 */
export function closeQueueName(account: string = DEFAULT_ACCOUNT): string {
  return account === DEFAULT_ACCOUNT ? CLOSE_QUEUE : `${CLOSE_QUEUE}@${account}`;
}

/**
 * The queue of one account's recurring sweeps: `sweep` for `default`, `sweep@<account>` (under the
 * account's prefix) for the others, so only the workers that serve an account (and hold its key)
 * run its sweeps.
 */
export function sweepQueueName(account: string = DEFAULT_ACCOUNT): string {
  return account === DEFAULT_ACCOUNT ? SWEEP_QUEUE : `${SWEEP_QUEUE}@${account}`;
}

/** The account whose sweep queue this is, or undefined for a name that is no sweep queue. */
export function accountOfSweepQueue(queueName: string): string | undefined {
  if (queueName === SWEEP_QUEUE) return DEFAULT_ACCOUNT;
  const account = queueName.startsWith(`${SWEEP_QUEUE}@`) ? queueName.slice(SWEEP_QUEUE.length + 1) : undefined;
  return account !== undefined && ACCOUNT_NAME_PATTERN.test(account) ? account : undefined;
}

/** The account whose queue this is, or undefined for a name that is no close queue. */
export function accountOfQueue(queueName: string): string | undefined {
  if (queueName === CLOSE_QUEUE) return DEFAULT_ACCOUNT;
  const account = queueName.startsWith(`${CLOSE_QUEUE}@`) ? queueName.slice(CLOSE_QUEUE.length + 1) : undefined;
  return account !== undefined && ACCOUNT_NAME_PATTERN.test(account) ? account : undefined;
}

/**
 * Deterministic job id of the close of one session for one account: the same session enqueued
 * twice while pending is the same job. `close-<session>` for `default` (as before accounts),
 * `close@<account>/<session>` for the others, so a job id names its account and is unique across
 * every account's queue (the dead-letter queue holds them all). BullMQ forbids `:` in custom ids,
 * so the session id is percent-encoded (which also encodes every `/` and `@` in it).
 */
export function closeJobIdFor(account: string, sessionId: string): string {
  const encoded = encodeURIComponent(sessionId);
  return account === DEFAULT_ACCOUNT ? `${CLOSE_JOB_ID_PREFIX}${encoded}` : `${CLOSE_QUEUE}@${account}/${encoded}`;
}

/** {@link closeJobIdFor} of the `default` account (one argument, so `ids.map(closeJobId)` stays right). */
export function closeJobId(sessionId: string): string {
  return closeJobIdFor(DEFAULT_ACCOUNT, sessionId);
}

/** What every {@link closeJobId} of the `default` account starts with. */
export const CLOSE_JOB_ID_PREFIX = 'close-';

/**
 * The session id inside a close job id: the inverse of {@link closeJobId}. Undefined when `jobId`
 * is not one (no `close-` / `close@<account>/` prefix, or not valid percent-encoding, e.g. a job
 * added by another client with its own id). Pure, never throws.
 */
export function parseCloseJobId(jobId: string): string | undefined {
  return parseCloseJobRef(jobId)?.sessionId;
}

/** The session and account of a close job id (see {@link closeJobId}), or undefined. Pure, never throws. */
export function parseCloseJobRef(jobId: string): { sessionId: string; account: string } | undefined {
  if (typeof jobId !== 'string') return undefined;
  let account = DEFAULT_ACCOUNT;
  let encoded: string;
  if (jobId.startsWith(CLOSE_JOB_ID_PREFIX)) encoded = jobId.slice(CLOSE_JOB_ID_PREFIX.length);
  else if (jobId.startsWith(`${CLOSE_QUEUE}@`)) {
    const slash = jobId.indexOf('/');
    account = jobId.slice(CLOSE_QUEUE.length + 1, slash);
    if (slash < 0 || !ACCOUNT_NAME_PATTERN.test(account) || account === DEFAULT_ACCOUNT) return undefined;
    encoded = jobId.slice(slash + 1);
  } else return undefined;
  try {
    return { sessionId: decodeURIComponent(encoded), account };
  } catch {
    return undefined;
  }
}

/** The account a close job id names (`default` for any id that names none). */
export function accountOfJobId(jobId: string): string {
  return parseCloseJobRef(jobId)?.account ?? DEFAULT_ACCOUNT;
}

/** Where a key belongs: the deployment's `BB_REAPER_PREFIX` and whether Redis is a cluster. */
export interface KeyScope {
  /** `BB_REAPER_PREFIX` as configured. */
  prefix: string;
  /** `BB_REAPER_REDIS_CLUSTER`. Default false. */
  redisCluster?: boolean;
}

/**
 * The hash tag of a key, as Redis Cluster reads it: the text between the first `{` and the first
 * `}` after it, when not empty. Undefined when the key has none (then the whole key is hashed).
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * What every key of a scope starts with: the one place that decides a key's hash tag, and so its
 * cluster slot. BullMQ scripts, MULTI, pipelines and bb-reaper's own scripts touch several keys
 * at once, which Redis Cluster allows only within one slot; so on a cluster every key of the scope
 * lives under one tag: `bb-reaper` becomes `{bb-reaper}` (keys `{bb-reaper}:close:wait`,
 * `{bb-reaper}:ingress`, ...). A prefix that already holds a tag (`app{bb}`) is used as it is. On
 * one Redis the prefix is unchanged, so existing deployments keep their keys.
 * Pure and idempotent: `keyPrefix({ prefix: keyPrefix(s), redisCluster: true }) === keyPrefix(s)`.
 */
export function keyPrefix({ prefix, redisCluster = false }: KeyScope): string {
  if (!redisCluster || hashTagOf(prefix) !== undefined) return prefix;
  return `{${prefix}}`;
}

/**
 * The key prefix of one account's own keys — its close queue (BullMQ's prefix for it), its leases
 * and its limiter — given the deployment's key prefix ({@link keyPrefix}). The one place that
 * decides which shard an account lives on: when the prefix holds a hash tag (always on a Redis
 * Cluster) every account but `default` gets its own tag, `{bb-reaper}` → `{bb-reaper@prod}`, so
 * accounts spread over the shards while each account's keys stay in one slot (BullMQ's and
 * bb-reaper's scripts touch several of them at once). `default` keeps the deployment's prefix, and
 * on one Redis (no tag) every account shares it (its keys differ by queue name). What is shared by
 * all accounts (dead letters, results, ingress, heartbeats, metrics) stays under the deployment's
 * prefix. Pure.
 */
export function accountKeyPrefix(prefix: string, account: string = DEFAULT_ACCOUNT): string {
  if (account === DEFAULT_ACCOUNT) return prefix;
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  if (close <= open + 1) return prefix;
  return `${prefix.slice(0, close)}@${account}${prefix.slice(close)}`;
}

/**
 * Base of one account's limiter keys (`:state`, `:ok`, `:leases` under it): `<prefix>:limiter` for
 * `default` (as before accounts), `<account prefix>:limiter@<account>` for the others.
 */
export function limiterKeyBase(prefix: string, account: string = DEFAULT_ACCOUNT): string {
  return account === DEFAULT_ACCOUNT ? keys(prefix).limiter : `${accountKeyPrefix(prefix, account)}:limiter@${account}`;
}

/** Redis keys outside BullMQ's own, all under the prefix. */
export function keys(prefix: string) {
  return {
    ingress: `${prefix}:ingress`,
    ingressRejected: `${prefix}:ingress:rejected`,
    results: `${prefix}:results`,
    limiter: `${prefix}:limiter`,
    workerHeartbeat: `${prefix}:workers`,
    /** Hash: worker id → JSON array of the names of the accounts it serves (written with its heartbeat; names only, never keys). */
    workerAccounts: `${prefix}:workers:accounts`,
    /** Set of the account names closes were enqueued for (`shared/account-registry.ts`). */
    accounts: `${prefix}:accounts`,
    /** Hash all worker processes add their metric counts to. */
    metrics: `${prefix}:metrics`,
  };
}

/**
 * Keys of leases ("close this session at T unless renewed"). A lease is a delayed job of the close
 * queue; these keys live in that queue's own key space (`<prefix>:close:…`, where BullMQ keeps
 * its keys), so a script may touch them together with the queue's keys under one hash tag. None
 * of them can be a job's key: BullMQ forbids `:` in job ids.
 */
export function leaseKeys(prefix: string, account: string = DEFAULT_ACCOUNT) {
  return queueLeaseKeys(accountKeyPrefix(prefix, account), closeQueueName(account));
}

/**
 * The lease keys of one close queue, from its key prefix (BullMQ's `queue.opts.prefix`: the
 * account's, see {@link accountKeyPrefix}) and its name: what {@link leaseKeys} gives for that
 * account. Each account's leases live beside its own queue.
 */
export function queueLeaseKeys(queuePrefix: string, queueName: string) {
  const base = `${queuePrefix}:${queueName}:leases`;
  return {
    /** Sorted set of the close job ids of pending leases, scored by deadline (ms epoch). */
    deadlines: `${base}:deadlines`,
    /** Hash of lease counts since the prefix was first used: `created`, `renewed`, `fired`, `released`, `cancelled`. */
    counts: `${base}:counts`,
    /** Hash of one lease (its session, deadline, renewals, state, when it ended and when a worker took its close), kept 24 h after it ended. */
    lease: (jobId: string) => `${base}:lease:${jobId}`,
  };
}
