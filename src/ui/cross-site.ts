import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHostHeader, originMatchesHost } from '../shared/same-site.js';

/** Header a non-browser client sends on writes when it sends no `Origin` (any non-empty value). */
export const CSRF_HEADER = 'x-requested-by';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a state-changing request must be refused as cross-site, or undefined when it may go on.
 * Browsers mark every write with `Sec-Fetch-Site` (on localhost and https) or `Origin`; a
 * request carrying neither comes from a script, which must then send `X-Requested-By` — a
 * header no cross-site page can add without a CORS preflight this server never grants.
 */
export function crossSiteReason(method: string, headers: FastifyRequest['headers']): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  const site = headers['sec-fetch-site'];
  if (site !== undefined) {
    return site === 'same-origin' ? undefined : `Sec-Fetch-Site is \`${String(site)}\`, expected \`same-origin\``;
  }
  const origin = headers.origin;
  if (origin !== undefined) {
    return originMatchesHost(origin, headers.host) ? undefined : `Origin \`${origin}\` is not this server (\`${headers.host ?? ''}\`)`;
  }
  const custom = headers[CSRF_HEADER];
  return typeof custom === 'string' && custom.length > 0 ? undefined : `a state-changing request without Origin must send the header \`X-Requested-By\``;
}

/**
 * Without credentials the UI listens on loopback only; a page on another site could still reach
 * it by pointing its own name at 127.0.0.1 (DNS rebinding). Such requests carry that foreign
 * name in `Host`, so only loopback names are accepted then.
 */
export function hostReason(host: string | undefined): string | undefined {
  if (!host) return 'no Host header';
  return isLoopbackHostHeader(host) ? undefined : `Host \`${host}\` is not a loopback name; set credentials to serve other names`;
}

/** An `onRequest` hook: 403 for cross-site writes (and, without credentials, foreign Host names). */
export function createCrossSiteHook({ checkHost }: { checkHost: boolean }) {
  return async function refuseCrossSite(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const reason = (checkHost ? hostReason(request.headers.host) : undefined) ?? crossSiteReason(request.method, request.headers);
    if (reason === undefined) return;
    await reply.code(403).send({ error: 'CROSS_SITE_REQUEST', message: `Refused: ${reason}` });
  };
}
