import { describe, expect, it } from 'vitest';
import { BrowserbaseError, classifyStatus, parseRetryAfter } from '../../src/browserbase/index.js';
import { BbReaperError } from '../../src/shared/errors.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('classifyStatus', () => {
  it.each([
    [200, undefined],
    [201, undefined],
    [204, undefined],
    [429, 'RATE_LIMITED'],
    [404, 'NOT_FOUND'],
    [408, 'TRANSIENT'],
    [409, 'TRANSIENT'],
    [500, 'TRANSIENT'],
    [502, 'TRANSIENT'],
    [503, 'TRANSIENT'],
    [504, 'TRANSIENT'],
    [400, 'REJECTED'],
    [401, 'REJECTED'],
    [403, 'REJECTED'],
    [405, 'REJECTED'],
    [410, 'REJECTED'],
    [422, 'REJECTED'],
    [301, 'REJECTED'],
    [304, 'REJECTED'],
  ])('%i -> %s', (status, code) => {
    expect(classifyStatus(status)).toBe(code);
  });
});

describe('parseRetryAfter', () => {
  it('prefers retry-after-ms (milliseconds, rounded up)', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '1500', 'retry-after': '9' }, NOW)).toBe(1500);
    expect(parseRetryAfter({ 'retry-after-ms': '12.2' }, NOW)).toBe(13);
  });

  it('reads retry-after in seconds', () => {
    expect(parseRetryAfter({ 'retry-after': '3' }, NOW)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '0.5' }, NOW)).toBe(500);
    expect(parseRetryAfter({ 'retry-after': '0' }, NOW)).toBe(0);
  });

  it('reads retry-after as an HTTP date, never negative', () => {
    expect(parseRetryAfter({ 'retry-after': new Date(NOW + 7000).toUTCString() }, NOW)).toBe(7000);
    expect(parseRetryAfter({ 'retry-after': new Date(NOW - 7000).toUTCString() }, NOW)).toBe(0);
  });

  it('reads x-ratelimit-reset as seconds from now or, above 1e9, epoch seconds', () => {
    expect(parseRetryAfter({ 'x-ratelimit-reset': '7' }, NOW)).toBe(7000);
    expect(parseRetryAfter({ 'x-ratelimit-reset': String(NOW / 1000 + 12) }, NOW)).toBe(12_000);
    expect(parseRetryAfter({ 'x-ratelimit-reset': String(NOW / 1000 - 12) }, NOW)).toBe(0);
  });

  it('takes x-ratelimit-reset as the precise form of a whole-second retry-after naming the same moment', () => {
    expect(parseRetryAfter({ 'retry-after': '1', 'x-ratelimit-reset': '0.042' }, NOW)).toBe(42);
    expect(parseRetryAfter({ 'retry-after': '3', 'x-ratelimit-reset': '2.5' }, NOW)).toBe(2500);
    // a different moment: retry-after wins
    expect(parseRetryAfter({ 'retry-after': '3', 'x-ratelimit-reset': '1.5' }, NOW)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '3', 'x-ratelimit-reset': '7' }, NOW)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': new Date(NOW + 2000).toUTCString(), 'x-ratelimit-reset': String(NOW / 1000 + 1.6) }, NOW)).toBe(1600);
  });

  it('falls through unusable values to the next source', () => {
    expect(parseRetryAfter({ 'retry-after-ms': 'soon', 'retry-after': '2' }, NOW)).toBe(2000);
    expect(parseRetryAfter({ 'retry-after': '-5', 'x-ratelimit-reset': '4' }, NOW)).toBe(4000);
    expect(parseRetryAfter({ 'retry-after': 'not a date', 'x-ratelimit-reset': '4' }, NOW)).toBe(4000);
    expect(parseRetryAfter({ 'retry-after': '1e3' }, NOW)).toBeUndefined();
  });

  it('is undefined when no header says anything', () => {
    expect(parseRetryAfter({}, NOW)).toBeUndefined();
    expect(parseRetryAfter({ 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'retry-after': '' }, NOW)).toBeUndefined();
  });

  it('accepts WHATWG Headers, arrays and any header case', () => {
    expect(parseRetryAfter(new Headers({ 'Retry-After': '2' }), NOW)).toBe(2000);
    expect(parseRetryAfter({ 'retry-after': ['3', '9'] }, NOW)).toBe(3000);
    expect(parseRetryAfter({ 'Retry-After-Ms': '250' }, NOW)).toBe(250);
  });
});

describe('BrowserbaseError', () => {
  it('extends BbReaperError and carries only what it was given', () => {
    const err = new BrowserbaseError('RATE_LIMITED', 'slow down', {
      statusCode: 429,
      retryAfterMs: 1000,
      serverMessage: 'Too many',
      request: { method: 'POST', path: '/v1/sessions/a' },
    });
    expect(err).toBeInstanceOf(BbReaperError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'BrowserbaseError', code: 'RATE_LIMITED', statusCode: 429, retryAfterMs: 1000, serverMessage: 'Too many' });
    expect(Object.keys(new BrowserbaseError('ABORTED', 'x'))).not.toContain('statusCode');
  });
});
