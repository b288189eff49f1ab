import { describe, expect, it } from 'vitest';
import { previewValue } from '../../src/shared/printable.js';
import { describeAttempt, formatCloseData, formatCloseName, formatCloseResult, formatDeadLetterData, formatDeadLetterName } from '../../src/ui/job-format.js';

// Bull Board calls these for every job of a list page: one that throws answers the whole list
// with 500 and hides every other job. Data comes from any producer, so anything may be there.

const nested = (depth: number): unknown => {
  let v: unknown = 'core';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

const HOSTILE: unknown[] = [
  undefined,
  null,
  0,
  1e300,
  'a string',
  [],
  [1, 2, 3],
  nested(5000),
  { sessionId: 42, enqueuedAt: 1e300, deadLetteredAt: 'yesterday', history: 'none', redriveCount: 'many', attemptsMade: { n: 1 } },
  { sessionId: 's', history: [null, 7, 'x', [], { at: 1e300, attempt: 'one', code: 99, httpStatus: '503', message: { m: 1 } }] },
  { sessionId: 'x'.repeat(1_000_000), message: 'm'.repeat(1_000_000), errorCode: 'E'.repeat(100_000) },
  { history: new Array(100_000).fill({ attempt: 1, at: 1e300, code: 'TRANSIENT' }) },
  { outcome: 'closed', finishedAt: 1e300, status: { s: 1 }, httpStatus: 'two hundred' },
];

const FORMATTERS: Array<[string, (v: unknown) => unknown, (v: unknown) => unknown]> = [
  ['formatCloseName', formatCloseName, (d) => ({ data: d })],
  ['formatCloseData', formatCloseData, (d) => d],
  ['formatCloseResult', formatCloseResult, (d) => d],
  ['formatDeadLetterName', formatDeadLetterName, (d) => ({ data: d })],
  ['formatDeadLetterData', formatDeadLetterData, (d) => d],
  ['describeAttempt', describeAttempt, (d) => d],
];

describe('Bull Board job formatting', () => {
  for (const [name, format, wrap] of FORMATTERS) {
    it(`${name} never throws and stays bounded, whatever the job holds`, () => {
      for (const value of HOSTILE) {
        const out = format(wrap(value));
        // Bounded: a page of ten jobs stays small whatever they hold (history lines are capped at 100).
        const size = JSON.stringify(out ?? null).length;
        expect(size, `${name}(${previewValue(value, 80)})`).toBeLessThan(200_000);
      }
    });
  }

  it('a close job with `enqueuedAt: 1e300` no longer throws: the time is shown as unreadable', () => {
    const data = formatCloseData({ sessionId: 's-1', enqueuedAt: 1e300, history: [{ attempt: 1, at: 1e300, code: 'TRANSIENT', httpStatus: 503, message: 'down' }] });
    expect(data).toEqual({ session: 's-1', enqueued: '(not a time: 1e+300)', history: ['#1 (not a time: 1e+300) TRANSIENT HTTP 503 — down'] });
  });

  it('a dead letter with unreadable times and types shows each value as such', () => {
    const data = formatDeadLetterData({ sessionId: { id: 1 }, errorCode: 'REJECTED', httpStatus: 401, message: 'bad', attemptsMade: '3', enqueuedAt: 1e300, deadLetteredAt: 'yesterday', redriveCount: null });
    expect(data).toMatchObject({
      session: '(not a string: "{\\"id\\":1}")',
      error: 'REJECTED (HTTP 401)',
      attempts: '(not a number: "3")',
      enqueued: '(not a time: 1e+300)',
      deadLettered: '(not a time: "yesterday")',
      redriveCount: '(not a number: "null")',
    });
    expect(formatDeadLetterName({ data: { errorCode: 7, sessionId: 's-1' } })).toBe('(not a string: "7") · s-1');
  });

  it('control characters in a session id or a message are shown visibly, not run by a terminal', () => {
    const data = formatDeadLetterData({ sessionId: 's\u001b]52;c;AAAA\u0007', message: 'line1\nline2\u202e' });
    expect(data).toMatchObject({ session: 's\\x1b]52;c;AAAA\\x07', message: 'line1\\nline2\\u202e' });
    expect(formatCloseName({ data: { sessionId: 'a\u001b[2Jb' } })).toBe('close · a\\x1b[2Jb');
  });

  it('huge text is cut with its length, a huge history shows its newest 100 attempts', () => {
    const data = formatDeadLetterData({ sessionId: 'x'.repeat(1_000_000), message: 'm'.repeat(52_000) }) as Record<string, string>;
    expect(data.session!.length).toBeLessThanOrEqual(300);
    expect(data.session).toMatch(/… \(cut: 1000000 characters\)$/);
    expect(data.message!.length).toBeLessThanOrEqual(1000);
    expect(data.message).toMatch(/… \(cut: 52000 characters\)$/);
    const history = Array.from({ length: 250 }, (_, i) => ({ attempt: i + 1, at: 0, code: 'TRANSIENT' }));
    const lines = (formatCloseData({ sessionId: 's', history }) as { history: string[] }).history;
    expect(lines).toHaveLength(101);
    expect(lines[0]).toBe('… 150 earlier attempts not shown');
    expect(lines[1]).toMatch(/^#151 1970-01-01T00:00:00.000Z TRANSIENT$/);
    expect(lines[100]).toMatch(/^#250 /);
  });

  it('valid jobs read as before', () => {
    const at = Date.UTC(2025, 0, 1, 10, 0, 1);
    expect(describeAttempt({ attempt: 2, at, code: 'TRANSIENT', httpStatus: 503, message: 'Service Unavailable' })).toBe('#2 2025-01-01T10:00:01.000Z TRANSIENT HTTP 503 — Service Unavailable');
    expect(formatCloseName({ data: { sessionId: 's-1', redriveCount: 2 } })).toBe('close · s-1 (re-drive 2)');
    expect(formatCloseName({ data: { sessionId: 's-1', redriveCount: 0 } })).toBe('close · s-1');
    expect(formatDeadLetterName({ data: { errorCode: 'REJECTED', httpStatus: 401, sessionId: 's-1' } })).toBe('REJECTED 401 · s-1');
    expect(formatCloseResult({ outcome: 'closed', status: 'COMPLETED', httpStatus: 200, attempts: 1, finishedAt: at })).toEqual({ outcome: 'closed', status: 'COMPLETED', httpStatus: 200, attempts: 1, finished: '2025-01-01T10:00:01.000Z' });
    expect(formatCloseResult(null)).toBeNull();
    expect(formatCloseResult({ other: 1 })).toBe('(not a close result: "{\\"other\\":1}")');
  });
});
