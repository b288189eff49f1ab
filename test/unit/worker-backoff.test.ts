import { describe, expect, it } from 'vitest';
import { backoffDelayMs, rateLimitPauseMs, MAX_RATE_LIMIT_PAUSE_MS } from '../../src/worker/backoff.js';
import { attemptsThisLife, parseCloseJobData } from '../../src/worker/job-data.js';

describe('backoff with full jitter', () => {
  it('draws uniformly below base * 2^(attempt-1), capped', () => {
    expect(backoffDelayMs(1, 1000, 60_000, () => 0.999)).toBe(999);
    expect(backoffDelayMs(3, 1000, 60_000, () => 0.5)).toBe(2000);
    expect(backoffDelayMs(20, 1000, 60_000, () => 0.999)).toBe(59_940);
    expect(backoffDelayMs(4, 1000, 60_000, () => 0)).toBe(0);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelayMs(5, 100, 1_000_000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1600);
    }
  });

  it('honours the server delay for a 429, bounded on both sides', () => {
    expect(rateLimitPauseMs(2500)).toBe(2500);
    expect(rateLimitPauseMs(undefined)).toBe(1000);
    expect(rateLimitPauseMs(Number.NaN)).toBe(1000);
    expect(rateLimitPauseMs(1)).toBe(50);
    expect(rateLimitPauseMs(10 * 3600_000)).toBe(MAX_RATE_LIMIT_PAUSE_MS);
  });
});

describe('close job data from any producer', () => {
  it('accepts the documented minimal shape', () => {
    const d = parseCloseJobData({ sessionId: 'sess_abc' });
    expect(d.sessionId).toBe('sess_abc');
    expect(typeof d.enqueuedAt).toBe('number');
  });

  it('rejects bad data with a reason naming the field', () => {
    expect(() => parseCloseJobData(null)).toThrow(/must be an object/);
    expect(() => parseCloseJobData({})).toThrow(/`sessionId`/);
    expect(() => parseCloseJobData({ sessionId: 'a/b' })).toThrow(/invalid `sessionId`/);
    expect(() => parseCloseJobData({ sessionId: 'ok', projectId: 5 })).toThrow(/`projectId` must be a string/);
    expect(() => parseCloseJobData({ sessionId: 'ok', history: 'x' })).toThrow(/`history` must be an array/);
  });

  it('counts attempts since the last re-drive', () => {
    const history = [1, 2, 3].map((attempt) => ({ attempt, at: 0, code: 'TRANSIENT' }));
    expect(attemptsThisLife({ sessionId: 'a', enqueuedAt: 0, history })).toBe(3);
    expect(attemptsThisLife({ sessionId: 'a', enqueuedAt: 0, history, attemptsOffset: 3 })).toBe(0);
  });
});
