import { describe, expect, it } from 'vitest';
import { CLOSE_JOB_LIMITS, type AttemptRecord, type CloseJobData } from '../../src/shared/jobs.js';
import { attemptsThisLife, cutText, InvalidJobError, parseCloseJobData, withAttempt } from '../../src/worker/job-data.js';

const NOW = 1_750_000_000_000;
const record = (attempt: number, extra: Partial<AttemptRecord> = {}): AttemptRecord => ({ attempt, at: NOW - 1000, code: 'TRANSIENT', httpStatus: 503, message: 'Service Unavailable', ...extra });
const valid = { sessionId: 's-1', enqueuedAt: NOW - 5000 };

/** The InvalidJobError parseCloseJobData throws for `data`: `INVALID_JOB: <message>` (the code travels as `code`, not in the message). */
function reason(data: unknown): string {
  try {
    parseCloseJobData(data, NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidJobError);
    expect((err as InvalidJobError).message).not.toMatch(/^INVALID_JOB/);
    return `${(err as InvalidJobError).code}: ${(err as Error).message}`;
  }
  throw new Error(`accepted ${JSON.stringify(data)?.slice(0, 200)}`);
}

describe('parseCloseJobData', () => {
  it('accepts what the producer, a re-drive and other-language producers write', () => {
    expect(parseCloseJobData(valid, NOW)).toMatchObject(valid);
    expect(parseCloseJobData({ sessionId: 's-1' }, NOW).enqueuedAt).toBe(NOW);
    const redriven = { ...valid, source: 'redrive', projectId: 'p', requestId: 'r', history: [record(1), record(2, { httpStatus: undefined, message: undefined })], attemptsOffset: 2, redriveCount: 1 };
    expect(parseCloseJobData(JSON.parse(JSON.stringify(redriven)), NOW)).toMatchObject({ attemptsOffset: 2, redriveCount: 1 });
    expect(parseCloseJobData({ ...valid, enqueuedAt: 0, history: [record(1, { at: 0 })] }, NOW)).toBeDefined();
    expect(parseCloseJobData({ ...valid, enqueuedAt: NOW + 3600_000 }, NOW)).toBeDefined(); // clock skew
    expect(parseCloseJobData({ ...valid, history: Array.from({ length: CLOSE_JOB_LIMITS.MAX_HISTORY }, (_, i) => record(i + 1)) }, NOW)).toBeDefined();
  });

  // Each case broke something before: a number where a string was expected, an attempt count
  // that never reaches the limit (`attemptsOffset: 1e9` retried for ever), a time with no date
  // (`1e300` crashed the UI's lists), a history that grew without bound.
  const cases: Array<[string, unknown, RegExp]> = [
    ['data that is not an object', 'close s-1', /job data must be an object, got string/],
    ['an array as data', [valid], /got an array/],
    ['a missing sessionId', { enqueuedAt: NOW }, /invalid `sessionId`: expected a string, got undefined/],
    ['a sessionId with a slash', { sessionId: 'a/b' }, /`sessionId` "a\/b": contains the character `\/`/],
    ['a numeric projectId', { ...valid, projectId: 42 }, /`projectId` must be a string, got 42/],
    ['an empty projectId', { ...valid, projectId: '' }, /`projectId` must be a non-empty string/],
    ['a 257-character requestId', { ...valid, requestId: 'r'.repeat(257) }, /`requestId` must be .* at most 256 characters.*\(257 characters\)/],
    ['a requestId with an escape sequence', { ...valid, requestId: 'a\u001b[2Jb' }, /`requestId` must be .*without control characters, got "a\\u001b\[2Jb"/],
    ['an object as source', { ...valid, source: { x: 1 } }, /`source` must be a string, got an object "\{\\"x\\":1\}"/],
    ['enqueuedAt 1e300', { ...valid, enqueuedAt: 1e300 }, /`enqueuedAt` must be a time in ms since the epoch, .* got 1e\+300/],
    ['a negative enqueuedAt', { ...valid, enqueuedAt: -1 }, /`enqueuedAt`.*got -1/],
    ['enqueuedAt two days ahead', { ...valid, enqueuedAt: NOW + 2 * 86_400_000 }, /`enqueuedAt`.*at most one day ahead/],
    ['enqueuedAt as a string', { ...valid, enqueuedAt: '2025-01-01' }, /`enqueuedAt`.*got "2025-01-01"/],
    ['enqueuedAt null', { ...valid, enqueuedAt: null }, /`enqueuedAt`.*got null/],
    ['history as an object', { ...valid, history: { 0: record(1) } }, /`history` must be an array/],
    ['history of 1,001 records', { ...valid, history: Array.from({ length: 1001 }, (_, i) => record(i + 1)) }, /`history` must hold at most 1000 attempt records, got 1001/],
    ['a history record that is a string', { ...valid, history: ['TRANSIENT'] }, /`history\[0\]` must be an attempt record object, got "TRANSIENT"/],
    ['a fractional attempt number', { ...valid, history: [record(1), record(1.5)] }, /`history\[1\]\.attempt` must be an integer from 1 to 1000000, got 1\.5/],
    ['attempt 0', { ...valid, history: [record(0)] }, /`history\[0\]\.attempt`.*got 0/],
    ['a history time of 1e300', { ...valid, history: [record(1, { at: 1e300 })] }, /`history\[0\]\.at` must be a time.*got 1e\+300/],
    ['a missing code', { ...valid, history: [{ attempt: 1, at: NOW }] }, /`history\[0\]\.code` must be a non-empty string .*got undefined/],
    ['a 65-character code', { ...valid, history: [record(1, { code: 'X'.repeat(65) })] }, /`history\[0\]\.code`.*at most 64/],
    ['httpStatus as a string', { ...valid, history: [record(1, { httpStatus: '503' as unknown as number })] }, /`history\[0\]\.httpStatus` must be an integer from 100 to 999, got "503"/],
    ['a 1,000,001-character message', { ...valid, history: [record(1, { message: 'm'.repeat(1_000_001) })] }, /`history\[0\]\.message` must be a string of at most 1000000 characters, got "m+…" \(1000001 characters\)/],
    ['a numeric message', { ...valid, history: [record(1, { message: 7 as unknown as string })] }, /`history\[0\]\.message`.*got 7/],
    ['attemptsOffset 1e9', { ...valid, history: [record(1)], attemptsOffset: 1e9 }, /`attemptsOffset` must be an integer from 0 to the length of `history` \(1\), got 1000000000/],
    ['a negative attemptsOffset', { ...valid, attemptsOffset: -1 }, /`attemptsOffset`.*\(0\), got -1/],
    ['attemptsOffset as a string', { ...valid, attemptsOffset: '0' }, /`attemptsOffset`.*got "0"/],
    ['a negative redriveCount', { ...valid, redriveCount: -3 }, /`redriveCount` must be an integer from 0 to 1000000, got -3/],
    ['redriveCount 1e9', { ...valid, redriveCount: 1e9 }, /`redriveCount`.*got 1000000000/],
  ];
  for (const [what, data, message] of cases) {
    it(`dead-letters ${what} as INVALID_JOB naming the field`, () => {
      const m = reason(data);
      expect(m).toMatch(/^INVALID_JOB: /);
      expect(m).toMatch(message);
      expect(m.length).toBeLessThan(400);
    });
  }

  it('a long message written by an older worker is cut on read, not refused: such a job is still closed', () => {
    const data = parseCloseJobData({ ...valid, history: [record(1, { message: 'm'.repeat(5000) })], attemptsOffset: 0 }, NOW);
    const message = data.history?.[0]?.message ?? '';
    expect(message.length).toBeLessThanOrEqual(1000);
    expect(message).toMatch(/… \(cut: 5000 characters\)$/);
  });

  it('a 1,000,000-element history is refused without reading its records', () => {
    const history = new Array(1_000_000).fill('x');
    expect(reason({ ...valid, history })).toMatch(/at most 1000 attempt records, got 1000000/);
  });
});

describe('withAttempt', () => {
  it('a history never grows past MAX_HISTORY across re-drives, and this life\'s attempts still count right', () => {
    const max = CLOSE_JOB_LIMITS.MAX_HISTORY;
    // A close re-driven many times: 999 old records, re-driven (offset at the end), then 3 attempts.
    let data: CloseJobData = { ...valid, history: Array.from({ length: max - 1 }, (_, i) => record(i + 1)), attemptsOffset: max - 1, redriveCount: 400 };
    for (let i = 1; i <= 3; i++) {
      expect(attemptsThisLife(data)).toBe(i - 1);
      data = withAttempt(data, record(i));
      expect(data.history!.length).toBeLessThanOrEqual(max);
      expect(attemptsThisLife(data)).toBe(i);
      expect(data.history!.at(-1)).toMatchObject({ attempt: i });
      expect(() => parseCloseJobData(data, NOW)).not.toThrow();
    }
    expect(data.history).toHaveLength(max);
    expect(data.attemptsOffset).toBe(max - 3);
  });
});

describe('cutText', () => {
  it('keeps short text and cuts long text to the limit, saying how long it was', () => {
    expect(cutText('short')).toBe('short');
    const cut = cutText('x'.repeat(52_000));
    expect(cut.length).toBeLessThanOrEqual(CLOSE_JOB_LIMITS.MAX_MESSAGE_LENGTH);
    expect(cut).toMatch(/^x+… \(cut: 52000 characters\)$/);
    // Never half a surrogate pair at the cut.
    const emoji = cutText('😀'.repeat(2000), 101);
    expect(emoji.length).toBeLessThanOrEqual(101);
    expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
