import { describe, expect, it } from 'vitest';
import { assertSessionId, BrowserbaseError, SESSION_ID_MAX_LENGTH, validateSessionId } from '../../src/browserbase/index.js';

/** Ids that must never reach a URL, with a fragment of the reason each gets. */
const HOSTILE_IDS: Array<[label: string, id: unknown, reason: RegExp]> = [
  ['path traversal ../x', '../x', /`\/`/],
  ['slash a/b', 'a/b', /`\/`/],
  ['backslash', 'a\\b', /`\\`/],
  ['encoded dots %2e%2e', '%2e%2e', /`%`/],
  ['dot-dot', '..', /`\.\.`/],
  ['dot-dot inside', 'a..b', /`\.\.`/],
  ['single dot', '.', /is `\.`/],
  ['empty', '', /is empty/],
  ['10 kB', 'a'.repeat(10_240), /10240 characters long; the maximum is 256/],
  ['NUL', 'a\u0000b', /U\+0000 at index 1/],
  ['newline', 'a\nb', /U\+000A/],
  ['tab', 'a\tb', /U\+0009/],
  ['space', 'a b', /U\+0020/],
  ['no-break space', 'a\u00a0b', /U\+00A0/],
  ['line separator', 'a\u2028b', /U\+2028/],
  ['paragraph separator', 'a\u2029b', /U\+2029/],
  ['zero-width space', 'a\u200bb', /U\+200B/],
  ['bidi override', 'a\u202eb', /U\+202E/],
  ['BOM', '\ufeffab', /U\+FEFF at index 0/],
  ['lone surrogate', 'a\ud800b', /U\+D800/],
  ['query', 'a?x=1', /`\?`/],
  ['fragment', 'a#f', /`#`/],
  ['number', 42, /expected a string, got number/],
  ['null', null, /expected a string, got null/],
  ['undefined', undefined, /expected a string, got undefined/],
  ['object', { id: 'x' }, /expected a string, got object/],
  ['array', ['x'], /expected a string, got an array/],
];

describe('validateSessionId', () => {
  it.each(HOSTILE_IDS)('rejects %s with a reason', (_label, id, reason) => {
    expect(validateSessionId(id)).toMatch(reason);
  });

  it.each([
    ['uuid', '3b0a8a4e-6c1f-4d7b-9a51-2f7f0f6a1c2d'],
    ['seed example', 'sess_abc'],
    ['dots that are not a pair', 'a.b.c'],
    ['unicode letters', 'séance-日本'],
    ['emoji (astral plane)', 'id-😀'],
    ['exactly the maximum length', 'x'.repeat(SESSION_ID_MAX_LENGTH)],
    ['punctuation that is safe once encoded', "a:b@c+d=e&f;g,h!i'j(k)l*m~n"],
  ])('accepts %s', (_label, id) => {
    expect(validateSessionId(id)).toBeUndefined();
  });

  it('rejects one character over the maximum length', () => {
    expect(validateSessionId('x'.repeat(SESSION_ID_MAX_LENGTH + 1))).toMatch(/257 characters long/);
  });
});

describe('assertSessionId', () => {
  it('throws BrowserbaseError INVALID_SESSION_ID naming the id and the reason', () => {
    let caught: unknown;
    try {
      assertSessionId('a/b');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BrowserbaseError);
    expect(caught).toMatchObject({ code: 'INVALID_SESSION_ID', name: 'BrowserbaseError' });
    expect((caught as Error).message).toBe('Invalid session id "a/b": contains the character `/` at index 1; ids are opaque tokens and never contain it');
  });

  it('keeps messages short and printable for huge or invisible ids', () => {
    expect(() => assertSessionId('a'.repeat(10_240))).toThrow(/^Invalid session id "a{64}"… \(10240 characters\): is 10240 characters long/);
    expect(() => assertSessionId('a\u2028b')).toThrow('Invalid session id "a\\u2028b"');
  });

  it('returns for a valid id', () => {
    expect(() => assertSessionId('sess_abc')).not.toThrow();
  });
});
