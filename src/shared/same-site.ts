/**
 * The rules that tell a request from this machine or this site from one a web page on another
 * site made: shared by the UI server and the simulator's admin API, which both refuse the latter.
 */
import { isIP } from 'node:net';

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** True when a `Host` header (name and optional port) names a loopback host. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  return host !== undefined && isLoopbackHost(host.replace(/:\d+$/, ''));
}

/** True when an `Origin` header names exactly the `Host` the request was sent to. */
export function originMatchesHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
