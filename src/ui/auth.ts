import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BbReaperError } from '../shared/errors.js';

/** UI credentials: both set, or neither (the config schema enforces it). */
export interface UiCredentials {
  user: string;
  password: string;
}

/** Paths answered without credentials: the liveness probe only. */
export const PUBLIC_PATHS = new Set(['/healthz']);

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Refuses to serve beyond loopback without credentials: the UI can re-drive and purge dead
 * letters, so whoever reaches it acts on the queue.
 */
export function assertSafeBind(host: string, credentials: UiCredentials | undefined): void {
  if (credentials || isLoopbackHost(host)) return;
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

/**
 * Checks an `Authorization` header: HTTP Basic with the user and password, or
 * `Bearer <password>` for scripts and Prometheus. Both parts are always compared.
 */
export function isAuthorized(header: string | undefined, credentials: UiCredentials): boolean {
  if (!header) return false;
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (scheme.toLowerCase() === 'bearer') return safeEqual(value, credentials.password);
  if (scheme.toLowerCase() !== 'basic') return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const userOk = safeEqual(decoded.slice(0, colon), credentials.user);
  const passwordOk = safeEqual(decoded.slice(colon + 1), credentials.password);
  return userOk && passwordOk;
}

/** An `onRequest` hook: 401 with a Basic challenge unless the request carries the credentials. */
export function createAuthHook(credentials: UiCredentials) {
  return async function requireCredentials(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (PUBLIC_PATHS.has(pathOf(request.url))) return;
    if (isAuthorized(request.headers.authorization, credentials)) return;
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
