import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from '../shared/same-site.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LIMITS } from '../config/schema.js';
import { BbReaperError } from '../shared/errors.js';

/** UI credentials: both set, or neither (the config schema enforces it). */
export interface UiCredentials {
  user: string;
  password: string;
  /** Read-only token: `Bearer <token>` on `GET /metrics` only. */
  metricsToken?: string;
}

/** Paths answered without credentials: the liveness probe only. */
export const PUBLIC_PATHS = new Set(['/healthz']);

/** The one route the metrics token opens, and the methods it may use there. */
const METRICS_PATH = '/metrics';
const METRICS_METHODS = new Set(['GET', 'HEAD']);

export { isLoopbackHost } from '../shared/same-site.js';

/**
 * Refuses to serve beyond loopback without credentials: the UI can re-drive and purge dead
 * letters, so whoever reaches it acts on the queue. Refuses a password (or metrics token) shorter
 * than {@link LIMITS.MIN_UI_SECRET_LENGTH} too, for library callers that build the config by hand
 * (`resolveConfig` already refuses one).
 */
export function assertSafeBind(host: string, credentials: UiCredentials | undefined): void {
  if (credentials) {
    for (const [name, secret] of [['BB_REAPER_UI_PASSWORD', credentials.password], ['BB_REAPER_METRICS_TOKEN', credentials.metricsToken]] as const) {
      if (secret !== undefined && secret.length < LIMITS.MIN_UI_SECRET_LENGTH) {
        throw new BbReaperError('UI_WEAK_SECRET', `Expected \`${name}\` to have at least ${LIMITS.MIN_UI_SECRET_LENGTH} characters, got \`***\` (${secret.length})`);
      }
    }
    return;
  }
  if (isLoopbackHost(host)) return;
  throw new BbReaperError(
    'UI_UNSAFE_BIND',
    `Refusing to bind the UI to \`${host}\` (beyond loopback) without credentials: set BB_REAPER_UI_USER and BB_REAPER_UI_PASSWORD (or --user/--password), or bind to 127.0.0.1`,
  );
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** What an `Authorization` header proves: the admin credential, the metrics token, or nothing. */
export type Grant = 'admin' | 'metrics' | undefined;

/**
 * Checks an `Authorization` header: HTTP Basic with the user and password, or `Bearer <password>`
 * for scripts (`admin`); `Bearer <metrics token>` (`metrics`). Every part is always compared.
 */
export function authorize(header: string | undefined, credentials: UiCredentials): Grant {
  if (!header) return undefined;
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (scheme.toLowerCase() === 'bearer') {
    const admin = safeEqual(value, credentials.password);
    const metrics = credentials.metricsToken !== undefined && safeEqual(value, credentials.metricsToken);
    return admin ? 'admin' : metrics ? 'metrics' : undefined;
  }
  if (scheme.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const userOk = safeEqual(decoded.slice(0, colon), credentials.user);
  const passwordOk = safeEqual(decoded.slice(colon + 1), credentials.password);
  return userOk && passwordOk ? 'admin' : undefined;
}

/** True when the header carries the admin credential (Basic, or Bearer with the password). */
export function isAuthorized(header: string | undefined, credentials: UiCredentials): boolean {
  return authorize(header, credentials) === 'admin';
}

export interface LoginThrottleOptions {
  /** Failed logins a client address may make within `windowMs`; the next request gets 429. Default 5. */
  maxFailures?: number;
  /** Length of the window, counted from a client's first failure in it, ms. Default 60 000. */
  windowMs?: number;
  /** Most client addresses tracked at once (the oldest are forgotten first). Default 10 000. */
  maxClients?: number;
}

/** Failed logins per client address, in bounded memory. */
export interface LoginThrottle {
  /** Seconds until `client` may try again, or undefined when it may try now. */
  retryAfterSeconds(client: string): number | undefined;
  recordFailure(client: string): void;
  /** Client addresses tracked right now. */
  size(): number;
}

/**
 * Counts failed logins per client address in fixed windows: after `maxFailures` failures within
 * `windowMs` of the first, the client is refused until that window ends. Success never clears the
 * count (so another valid credential, e.g. the metrics token, cannot reset a guesser's budget).
 */
export function createLoginThrottle({ maxFailures = 5, windowMs = 60_000, maxClients = 10_000 }: LoginThrottleOptions = {}, now: () => number = Date.now): LoginThrottle {
  const clients = new Map<string, { failures: number; endsAt: number }>();
  const live = (client: string) => {
    const entry = clients.get(client);
    if (entry && entry.endsAt <= now()) {
      clients.delete(client);
      return undefined;
    }
    return entry;
  };
  return {
    retryAfterSeconds(client) {
      const entry = live(client);
      if (!entry || entry.failures < maxFailures) return undefined;
      return Math.max(1, Math.ceil((entry.endsAt - now()) / 1000));
    },
    recordFailure(client) {
      const entry = live(client);
      if (entry) {
        entry.failures += 1;
        return;
      }
      // Entries are added in the order their windows end (Map keeps insertion order): drop the
      // expired ones from the front, and the oldest while still full.
      const t = now();
      for (const [k, e] of clients) {
        if (e.endsAt > t && clients.size < maxClients) break;
        clients.delete(k);
      }
      clients.set(client, { failures: 1, endsAt: t + windowMs });
    },
    size: () => clients.size,
  };
}

/** The metrics token opens `GET /metrics` (and HEAD) only: the route fastify matched, and the raw path. */
function isMetricsRead(request: FastifyRequest): boolean {
  return METRICS_METHODS.has(request.method) && request.routeOptions.url === METRICS_PATH && pathOf(request.url) === METRICS_PATH;
}

export interface AuthHookOptions {
  /** Failed logins allowed per client address within the window before 429s. */
  throttle?: LoginThrottleOptions;
}

/**
 * An `onRequest` hook: 401 with a Basic challenge unless the request carries the credentials;
 * 403 for the metrics token anywhere but `GET /metrics`; 429 with `Retry-After` for a client
 * address with too many failed logins lately (without checking what it sent).
 */
export function createAuthHook(credentials: UiCredentials, { throttle: throttleOptions }: AuthHookOptions = {}) {
  const throttle: LoginThrottle = createLoginThrottle(throttleOptions);
  return async function requireCredentials(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (PUBLIC_PATHS.has(pathOf(request.url))) return;
    const client = request.ip;
    const retryAfterS = throttle.retryAfterSeconds(client);
    if (retryAfterS !== undefined) {
      await reply
        .code(429)
        .header('retry-after', String(retryAfterS))
        .send({ error: 'TOO_MANY_FAILED_LOGINS', message: `Too many failed logins from this address: try again in ${retryAfterS} s` });
      return;
    }
    const header = request.headers.authorization;
    const grant = authorize(header, credentials);
    if (grant === 'admin') return;
    if (grant === 'metrics') {
      if (isMetricsRead(request)) return;
      await reply.code(403).send({ error: 'FORBIDDEN', message: 'The metrics token (BB_REAPER_METRICS_TOKEN) authorizes `GET /metrics` only' });
      return;
    }
    // Only a wrong password can be a guess: a request without credentials (how a browser asks for
    // the challenge) or with another scheme is not a failed login.
    if (header !== undefined && /^\s*(basic|bearer)\s/i.test(header)) throttle.recordFailure(client);
    await reply
      .code(401)
      .header('www-authenticate', 'Basic realm="bb-reaper", charset="UTF-8"')
      .send({ error: 'UNAUTHORIZED', message: 'Credentials required: HTTP Basic (BB_REAPER_UI_USER / BB_REAPER_UI_PASSWORD) or `Authorization: Bearer <password>`' });
  };
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
