import { createBrowserbaseClient, withRetries, type BrowserbaseClient, type CreateSessionParams, type SessionWithConnect } from '../browserbase/index.js';
import { checkAccountField } from '../producer/close-request.js';
import { createProducer, type Producer } from '../producer/producer.js';
import { BbReaperError } from '../shared/errors.js';
import type { Lease, LeaseOptions } from './lease-handle.js';
import { parseLeaseTtl, parseRenewEvery, type Ttl } from './lease-options.js';

export interface WithSessionOptions {
  /** Where leases live: a producer (kept open), or `redisUrl` / `prefix` for one opened for this call. */
  producer?: Producer;
  redisUrl?: string;
  prefix?: string;
  /** Creates the session: a client (kept open), or `apiKey` / `baseUrl` / `projectId` for one made for this call. */
  client?: BrowserbaseClient;
  apiKey?: string;
  baseUrl?: string;
  projectId?: string;
  /** Create parameters (`timeout`, `keepAlive`, `userMetadata`, `browserSettings`, ...). */
  session?: CreateSessionParams;
  /** The lease's TTL: how long after the holder dies the session is closed. Default `2m`. */
  ttl?: Ttl;
  /** How often the lease is renewed while the function runs. Default a third of the TTL. */
  renewEvery?: Ttl;
  /** Correlation id of the close, echoed in the results stream. */
  requestId?: string;
  /**
   * The account (see the accounts file) whose key `client` / `apiKey` is: the lease lives in its
   * close queue, so the close goes out with the same key. Default `default`.
   */
  account?: string;
}

/** What the function gets beside the session. */
export interface SessionContext {
  lease: Lease;
  /** Aborts when the lease is lost (it fired or was ended elsewhere): the session is being closed. */
  signal: AbortSignal;
}

/** Default TTL of `withSession`'s lease. */
export const WITH_SESSION_DEFAULT_TTL = '2m';

/**
 * The seed's "close the session in a finally block", crash-proof: creates a Browserbase session,
 * holds a lease on it (renewed every `renewEvery`) while `fn` runs, and closes it when `fn`
 * returns or throws — through the close queue, so a running `bb-reaper worker` sends the close
 * moments later. If this process dies, renewals stop and the lease closes the session at its
 * deadline (at most `ttl` later). If the lease cannot be registered, the new session is closed at
 * once and the error is thrown. Returns what `fn` returns.
 */
export async function withSession<T>(options: WithSessionOptions, fn: (session: SessionWithConnect, context: SessionContext) => Promise<T> | T): Promise<T> {
  const ttlMs = parseLeaseTtl(options.ttl ?? WITH_SESSION_DEFAULT_TTL);
  const accountProblem = checkAccountField(options.account);
  if (accountProblem !== undefined) throw new BbReaperError('INVALID_OPTION', `withSession: ${accountProblem}`);
  const every = options.renewEvery === undefined ? undefined : parseRenewEvery(options.renewEvery, ttlMs, 'renewEvery');
  const ownProducer = options.producer === undefined;
  const producer = options.producer ?? createProducer({ ...(options.redisUrl !== undefined ? { redisUrl: options.redisUrl } : {}), ...(options.prefix !== undefined ? { prefix: options.prefix } : {}) });
  let ownClient = false;
  let client = options.client;
  try {
    if (!client) {
      if (!options.apiKey) throw new BbReaperError('INVALID_OPTION', 'withSession needs `client` or `apiKey` to create the session');
      client = createBrowserbaseClient({ apiKey: options.apiKey, ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}), ...(options.projectId !== undefined ? { projectId: options.projectId } : {}) });
      ownClient = true;
    }
    const session = await client.createSession(options.session ?? {});
    const lease = await leaseNewSession(producer, client, session.id, { ttl: ttlMs, source: 'with-session', ...(options.requestId !== undefined ? { requestId: options.requestId } : {}), ...(options.account !== undefined ? { account: options.account } : {}) });
    const lost = new AbortController();
    const keeper = lease.keepAlive({ ...(every !== undefined ? { every } : {}), onLost: (err) => lost.abort(err) });
    try {
      return await fn(session, { lease, signal: lost.signal });
    } finally {
      keeper.stop();
      await closeAfter(lease, client, session.id);
    }
  } finally {
    if (ownClient) await client?.close();
    if (ownProducer) await producer.close();
  }
}

/**
 * Registers the lease of a session just created; when that fails (Redis unreachable, a bad
 * option), closes the session at once with the client rather than leave it unguarded, and throws
 * an error saying so (with the cause). Used by `withSession` and `sessions create --lease`.
 */
export async function leaseNewSession(producer: Pick<Producer, 'lease'>, client: Pick<BrowserbaseClient, 'closeSession'>, sessionId: string, opts: LeaseOptions): Promise<Lease> {
  try {
    const lease = await producer.lease(sessionId, opts);
    if (!lease.active) throw new BbReaperError('LEASE_NOT_FOUND', `no lease was made (${lease.status})`);
    return lease;
  } catch (err) {
    const closed = await withRetries(() => client.closeSession(sessionId), { retries: 3 }).then(
      () => 'so the session was closed at once',
      (closeErr: unknown) => `and closing the session failed too (${(closeErr as Error).message}): close it yourself`,
    );
    throw new BbReaperError(err instanceof BbReaperError ? err.code : 'LEASE_NOT_FOUND', `the lease of the new session ${sessionId} could not be registered (${(err as Error).message}), ${closed}`, { cause: err });
  }
}

/**
 * The finally step: release the lease (the close runs now, through the queue). Should Redis not
 * take the release, the session is closed directly with the client; the lease then fires later
 * on a session already gone, which is harmless.
 */
async function closeAfter(lease: Lease, client: BrowserbaseClient, sessionId: string): Promise<void> {
  try {
    await lease.release();
  } catch (err) {
    // A lease cancelled by someone else means "do not close": respect it.
    if (err instanceof BbReaperError && err.code === 'LEASE_ENDED') return;
    await withRetries(() => client.closeSession(sessionId), { retries: 3 }).catch(() => {});
  }
}
