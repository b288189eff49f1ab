import { describe, expect, it } from 'vitest';
import { BrowserbaseError, retryDelayMs, withRetries } from '../../src/browserbase/index.js';

const transient = () => new BrowserbaseError('TRANSIENT', 'blip', { statusCode: 503 });

describe('retryDelayMs', () => {
  it("honours the server's retryAfterMs, capped at maxMs", () => {
    const limited = (ms: number) => new BrowserbaseError('RATE_LIMITED', 'x', { retryAfterMs: ms });
    expect(retryDelayMs(limited(1200), 1, 100, 8000)).toBe(1200);
    expect(retryDelayMs(limited(3_600_000), 1, 100, 8000)).toBe(8000);
    expect(retryDelayMs(limited(0), 1, 100, 8000)).toBe(0);
  });

  it('otherwise uses full jitter over a doubling, capped window', () => {
    const top = () => 1;
    expect(retryDelayMs(transient(), 1, 100, 1000, top)).toBe(100);
    expect(retryDelayMs(transient(), 3, 100, 1000, top)).toBe(400);
    expect(retryDelayMs(transient(), 10, 100, 1000, top)).toBe(1000);
    expect(retryDelayMs(transient(), 3, 100, 1000, () => 0)).toBe(0);
  });
});

describe('withRetries', () => {
  it('retries RATE_LIMITED and TRANSIENT, then returns', async () => {
    const seen: number[] = [];
    const delays: number[] = [];
    const result = await withRetries(
      async (attempt) => {
        seen.push(attempt);
        if (attempt === 1) throw new BrowserbaseError('RATE_LIMITED', 'x', { retryAfterMs: 5 });
        if (attempt === 2) throw transient();
        return 'ok';
      },
      { retries: 2, baseMs: 1, maxMs: 10, onRetry: (i) => delays.push(i.delayMs) },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(delays[0]).toBe(5);
  });

  it('throws the last error after `retries` retries', async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw transient();
        },
        { retries: 3, baseMs: 1, maxMs: 2 },
      ),
    ).rejects.toMatchObject({ code: 'TRANSIENT' });
    expect(calls).toBe(4);
  });

  it.each(['REJECTED', 'NOT_FOUND', 'INVALID_SESSION_ID', 'ABORTED'] as const)('never retries %s', async (code) => {
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw new BrowserbaseError(code, 'no');
      }),
    ).rejects.toMatchObject({ code });
    expect(calls).toBe(1);
  });

  it('never retries errors that are not BrowserbaseErrors', async () => {
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw new TypeError('bug');
      }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it('stops waiting with ABORTED when the signal fires', async () => {
    const ac = new AbortController();
    const p = withRetries(
      async () => {
        throw new BrowserbaseError('RATE_LIMITED', 'x', { retryAfterMs: 60_000 });
      },
      { retries: 5, maxMs: 60_000, signal: ac.signal, onRetry: () => setImmediate(() => ac.abort()) },
    );
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
