/**
 * How the CLI tells what a lease call did (`lease`, `sessions create --lease`): one line per
 * session, and which answers are failures for each action.
 */
import { formatDuration } from '../../shared/duration.js';
import { printable } from '../../shared/printable.js';
import type { LeaseOutcome } from '../../leases/lease-store.js';
import { formatAge } from './table.js';

/** What the CLI asked for. */
export type LeaseAction = 'set' | 'release' | 'cancel';

const iso = (ms: number) => new Date(ms).toISOString();

/** A duration to the second, as `parseDuration` reads it: `10m`, `1m30s`, `0s`. */
export const inSeconds = (ms: number) => formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);

/** `<session>  created: closes in 10m (at 2026-…) unless renewed`, `<session>  the lease already fired at …`, … (printable). */
export function describeLeaseOutcome(o: LeaseOutcome, now = Date.now()): string {
  return `${printable(o.sessionId)}  ${leaseOutcomeText(o, now)}`;
}

/** What a lease call did, without the session: `created: closes in 10m (at …) unless renewed`, … */
export function leaseOutcomeText(o: LeaseOutcome, now = Date.now()): string {
  const e = o.ended;
  switch (o.status) {
    case 'created':
    case 'renewed':
      return `${o.status}: closes in ${inSeconds((o.expiresAt ?? now) - now)} (at ${iso(o.expiresAt ?? now)}) unless renewed${o.status === 'renewed' ? ` (renewal ${o.renewals ?? 0})` : ''}`;
    case 'released':
      return 'released: closing now';
    case 'cancelled':
      return 'cancelled: it will not be closed by its lease';
    case 'ended':
      if (e?.state === 'fired') return `the lease already fired at its deadline ${iso(e.at)} (${formatAge(now - e.at)} ago): its close is pending or done`;
      if (e?.state === 'released') return `the lease was already released at ${iso(e.at)}: its close is pending or done`;
      return `the lease was already cancelled at ${iso(e?.at ?? now)}`;
    case 'close_pending':
      return 'no lease: a close of this session is already pending';
    case 'close_done':
      return "no lease: this session's close is done";
    default:
      return 'no lease for this session';
  }
}

/**
 * True when an outcome means the action failed (exit 1): renewing a lease that ended; cancelling
 * one that fired or was released, or no lease; releasing one that was cancelled, or no lease.
 * A session whose close is already pending or done is a no-op, not a failure, for `set` and `release`.
 */
export function isLeaseFailure(action: LeaseAction, o: LeaseOutcome): boolean {
  switch (action) {
    case 'set':
      return o.status === 'ended';
    case 'release':
      return o.status === 'none' || (o.status === 'ended' && o.ended?.state === 'cancelled');
    case 'cancel':
      return !(o.status === 'cancelled' || (o.status === 'ended' && o.ended?.state === 'cancelled'));
  }
}
