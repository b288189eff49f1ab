import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from '../../src/ui/auth.js';

describe('login throttle', () => {
  it('refuses a client after maxFailures failures until its window ends, with the seconds left', () => {
    let now = 1_000_000;
    const t = createLoginThrottle({ maxFailures: 3, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfterSeconds('a')).toBeUndefined();
      t.recordFailure('a');
    }
    expect(t.retryAfterSeconds('a')).toBe(60);
    expect(t.retryAfterSeconds('b')).toBeUndefined();
    now += 59_001;
    expect(t.retryAfterSeconds('a')).toBe(1);
    now += 999;
    expect(t.retryAfterSeconds('a')).toBeUndefined();
    expect(t.size()).toBe(0);
  });

  it('the failed-login map no longer grows without bound: at most maxClients addresses, the oldest forgotten first', () => {
    let now = 0;
    const t = createLoginThrottle({ maxFailures: 1, windowMs: 60_000, maxClients: 100 }, () => now);
    for (let i = 0; i < 100_000; i++) {
      now += 1;
      t.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    }
    expect(t.size()).toBe(100);
    expect(t.retryAfterSeconds('10.0.0.0')).toBeUndefined();
    expect(t.retryAfterSeconds(`10.0.${99_999 >> 8}.${99_999 & 255}`)).toBe(60);
    // Expired entries leave first, so live ones are kept while there is room.
    now += 60_000;
    t.recordFailure('fresh');
    expect(t.size()).toBe(1);
  });
});
