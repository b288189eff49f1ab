import { describe, expect, it } from 'vitest';
import { inSeconds, isLeaseFailure, leaseOutcomeText } from '../../src/cli/toolkit/leases.js';
import { parseIngressEntry } from '../../src/ingress/index.js';
import { LEASE_LIMITS, parseLeaseTtl } from '../../src/leases/lease-options.js';
import { parseRenewEvery, ttlUntil } from '../../src/leases/lease-options.js';
import type { LeaseOutcome } from '../../src/leases/lease-store.js';
import { parseResultFields, toResultFields, type ResultEntry } from '../../src/results/results-stream.js';
import { formatCloseData, formatCloseName, formatCloseResult } from '../../src/ui/job-format.js';
import { minutesSavedBy } from '../../src/worker/close-processor.js';
import { parseCloseJobData } from '../../src/worker/job-data.js';

describe('lease TTLs', () => {
  it('accept 10 s to 6 h as ms or a duration, and say clearly what is wrong otherwise', () => {
    expect(parseLeaseTtl('10s')).toBe(10_000);
    expect(parseLeaseTtl('6h')).toBe(LEASE_LIMITS.maxTtlMs);
    expect(parseLeaseTtl('1h30m')).toBe(5_400_000);
    expect(parseLeaseTtl(90_000)).toBe(90_000);
    const message = (v: unknown, what?: string) => {
      try {
        parseLeaseTtl(v, what);
        return 'accepted';
      } catch (err) {
        return `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
    };
    expect(message('9s')).toBe('INVALID_LEASE: Expected `ttl` to be a duration from 10s to 6h (the longest a Browserbase session runs), such as `90s` or `10m`, got `9s`');
    expect(message('6h1s', '--ttl')).toMatch(/^INVALID_LEASE: Expected `--ttl` to be .* got `6h1s`$/);
    for (const bad of ['', '10', '1.5m', '-10s', 'soon', 9_999, 1.5, Number.NaN, null, undefined, {}]) expect(message(bad)).toMatch(/^INVALID_LEASE: /);
  });

  it('a keepAlive interval is at least 1 s and shorter than the TTL; a deadline is 10 s to 6 h from now', () => {
    expect(parseRenewEvery('20s', 60_000)).toBe(20_000);
    expect(() => parseRenewEvery('1m', 60_000)).toThrow('Expected `every` to be a duration from 1s to less than the TTL (1m), got `1m`');
    expect(() => parseRenewEvery(500, 60_000)).toThrow(/got `500`/);
    const now = 1_800_000_000_000;
    expect(ttlUntil(now + 60_000, now)).toBe(60_000);
    expect(() => ttlUntil(now - 5_000, now, 'close_at')).toThrow(`Expected \`close_at\` to be 10s to 6h from now, got \`${now - 5_000}\` (5s ago)`);
    expect(() => ttlUntil(now + 7 * 3_600_000, now)).toThrow(/\(in 7h\)$/);
    expect(() => ttlUntil('tomorrow', now, 'close_at')).toThrow('Expected `close_at` to be a time in ms since the epoch, got `tomorrow`');
  });
});

describe('ingress entries with close_after / close_at', () => {
  it('are leases of the entry\'s sessions; a bad value rejects the entry, naming the field', () => {
    expect(parseIngressEntry(['session_id', 's-1', 'close_after', '10m', 'request_id', 'r'])).toEqual({ requests: [{ sessionId: 's-1', requestId: 'r' }], rejections: [], lease: { ttlMs: 600_000 } });
    const at = Date.now() + 120_000;
    expect(parseIngressEntry(['session_ids', '["a","b"]', 'close_at', String(at)])).toMatchObject({ requests: [{ sessionId: 'a' }, { sessionId: 'b' }], lease: { atMs: at } });
    expect(parseIngressEntry(['session_id', 's-1'])).toEqual({ requests: [{ sessionId: 's-1' }], rejections: [] });
    const rejected = (pairs: string[]) => parseIngressEntry(pairs).rejections.map((r) => `${r.code}: ${r.reason}`);
    expect(rejected(['session_id', 's', 'close_after', '5s'])).toEqual(['INVALID_FIELD: Expected `close_after` to be a duration from 10s to 6h (the longest a Browserbase session runs), such as `90s` or `10m`, got `5s`']);
    expect(rejected(['session_id', 's', 'close_at', '12.5'])).toEqual(['INVALID_FIELD: Expected `close_at` to be a time in ms since the epoch, got `12.5`']);
    expect(rejected(['session_id', 's', 'close_at', String(Date.now() - 1000)])).toEqual([expect.stringMatching(/^INVALID_FIELD: Expected `close_at` to be 10s to 6h from now, got `\d+` \(1s ago\)$/)]);
    expect(rejected(['session_id', 's', 'close_after', '1m', 'close_at', String(at)])).toEqual(['INVALID_FIELD: give either `close_after` or `close_at`, not both']);
    expect(rejected(['session_id', 's', 'close_after', '1m', 'close_after', '2m'])).toEqual([expect.stringMatching(/^DUPLICATE_FIELD: field `close_after` appears more than once/)]);
    expect(rejected(['session_id', 's', 'closeAt', String(at)])).toEqual(['UNKNOWN_FIELD: unknown field `closeAt`; did you mean `close_at`?']);
  });
});

describe('a lease\'s close job', () => {
  it('carries `lease: true`; anything else there is invalid job data', () => {
    expect(parseCloseJobData({ sessionId: 's', enqueuedAt: 1, lease: true }).lease).toBe(true);
    expect(() => parseCloseJobData({ sessionId: 's', enqueuedAt: 1, lease: 'yes' })).toThrow('`lease` must be true when present (leases set it), got "yes"');
  });

  it('reads in Bull Board as a scheduled close with its deadline while delayed, as a lease\'s close after', () => {
    const deadline = Date.UTC(2026, 11, 2, 15, 0, 0);
    expect(formatCloseName({ data: { sessionId: 'sess-1', lease: true }, timestamp: deadline - 60_000, delay: 60_000 })).toBe('lease · sess-1 · closes at 2026-12-02T15:00:00.000Z unless renewed');
    expect(formatCloseName({ data: { sessionId: 'sess-1', lease: true }, timestamp: deadline, delay: 0 })).toBe('close · sess-1 (lease)');
    expect(formatCloseName({ data: { sessionId: 'sess-1' }, timestamp: deadline, delay: 5000 })).toBe('close · sess-1');
    expect(formatCloseData({ sessionId: 'sess-1', lease: true })).toMatchObject({ lease: expect.stringMatching(/^yes: this close was scheduled by a lease/) });
    expect(formatCloseResult({ outcome: 'closed', status: 'RUNNING', leaseEnd: 'fired', minutesSaved: 12.5 })).toMatchObject({ lease: 'fired', minutesSaved: 12.5 });
  });
});

describe('minutes saved', () => {
  it('are the minutes from the close to the session\'s expiresAt, to 0.01, and nothing for a session already past it or without one', () => {
    const closedAt = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(minutesSavedBy(new Date(closedAt + 45 * 60_000).toISOString(), closedAt)).toBe(45);
    expect(minutesSavedBy(new Date(closedAt + 61_234).toISOString(), closedAt)).toBe(1.02);
    expect(minutesSavedBy(new Date(closedAt - 1).toISOString(), closedAt)).toBeUndefined();
    expect(minutesSavedBy(undefined, closedAt)).toBeUndefined();
    expect(minutesSavedBy('not a time', closedAt)).toBeUndefined();
  });

  it('travel in the results stream with the lease fields', () => {
    const entry: ResultEntry = { jobId: 'close-s', jobTimestamp: 1, sessionId: 's', outcome: 'closed', status: 'RUNNING', httpStatus: 200, attempts: 1, finishedAt: 5, lease: true, leaseEnd: 'fired', minutesSaved: 59.987 };
    const fields = toResultFields(entry);
    expect(fields.slice(-6)).toEqual(['lease', 'true', 'lease_end', 'fired', 'minutes_saved', '59.99']);
    expect(parseResultFields('1-0', fields)).toMatchObject({ lease: true, leaseEnd: 'fired', minutesSaved: 59.99 });
    const plain = parseResultFields('1-1', toResultFields({ ...entry, lease: undefined, leaseEnd: undefined, minutesSaved: undefined }));
    expect(Object.keys(plain)).not.toContain('lease');
    expect(Object.keys(plain)).not.toContain('minutesSaved');
  });
});

describe('the CLI\'s lease lines and exit rules', () => {
  const o = (status: LeaseOutcome['status'], extra: Partial<LeaseOutcome> = {}): LeaseOutcome => ({ sessionId: 's', jobId: 'close-s', status, ...extra });
  it('says what happened in one line', () => {
    const now = 1_800_000_000_000;
    expect(leaseOutcomeText(o('created', { expiresAt: now + 599_990 }), now)).toBe('created: closes in 10m (at 2027-01-15T08:09:59.990Z) unless renewed');
    expect(leaseOutcomeText(o('ended', { ended: { state: 'fired', at: now - 5000 } }), now)).toBe('the lease already fired at its deadline 2027-01-15T07:59:55.000Z (5s ago): its close is pending or done');
    expect(inSeconds(89_600)).toBe('1m30s');
  });
  it('fails (exit 1) only where the action could not do what it asked', () => {
    const fired = o('ended', { ended: { state: 'fired', at: 1 } });
    const cancelled = o('ended', { ended: { state: 'cancelled', at: 1 } });
    expect([isLeaseFailure('set', fired), isLeaseFailure('set', o('close_pending')), isLeaseFailure('set', o('renewed'))]).toEqual([true, false, false]);
    expect([isLeaseFailure('release', fired), isLeaseFailure('release', cancelled), isLeaseFailure('release', o('none')), isLeaseFailure('release', o('released'))]).toEqual([false, true, true, false]);
    expect([isLeaseFailure('cancel', fired), isLeaseFailure('cancel', cancelled), isLeaseFailure('cancel', o('none')), isLeaseFailure('cancel', o('cancelled'))]).toEqual([true, false, true, false]);
  });
});
