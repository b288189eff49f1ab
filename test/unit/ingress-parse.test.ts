import { describe, expect, it } from 'vitest';
import { parseEntries, rejectedRecords, rejectInvalid, resolveIngressSettings, type EntryContext, type IngressOrigin } from '../../src/ingress/index.js';
import { isInvalid, normalizeCloseItem, SourcedInput, type InvalidItem } from '../../src/producer/index.js';

const context = (over: Partial<EntryContext> = {}): EntryContext => ({ deliveries: new Map(), oversized: new Map(), maxDeliveries: 5, ...over });
const asMap = (flat: string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));

/** What enqueueCloses does with each request: the one validation. */
function validate(requests: SourcedInput<IngressOrigin>[]): { valid: unknown[]; invalid: InvalidItem<IngressOrigin>[] } {
  const valid: unknown[] = [];
  const invalid: InvalidItem<IngressOrigin>[] = [];
  for (const item of requests) {
    const r = normalizeCloseItem<IngressOrigin>(item);
    if (isInvalid(r)) invalid.push(r);
    else valid.push(r.sessionId);
  }
  return { valid, invalid };
}

describe('parseEntries (the pure step: entries -> requests with their origin, and rejections)', () => {
  it('gives each request its entry and position, with the entry correlation fields, and checks no id itself', () => {
    const { requests, rejections } = parseEntries(
      [
        ['1-0', ['session_id', 'has space', 'request_id', 'r-1']],
        ['2-0', ['session_ids', '["a", "b/c"]', 'project_id', 'p']],
      ],
      context(),
    );
    expect(rejections).toEqual([]);
    expect(requests.map((r) => [r.input, r.origin.entry.id, r.origin.index, r.problem])).toEqual([
      [{ sessionId: 'has space', requestId: 'r-1' }, '1-0', undefined, undefined],
      [{ sessionId: 'a', projectId: 'p' }, '2-0', 0, undefined],
      [{ sessionId: 'b/c', projectId: 'p' }, '2-0', 1, undefined],
    ]);
  });

  it('an element of session_ids that is not a string comes already invalid: an object {"sessionId"} is still rejected, though enqueueCloses alone would accept it', () => {
    const { requests } = parseEntries([['1-0', ['session_ids', '[{"sessionId":"x"}, 7, "ok"]']]], context());
    expect(requests.map((r) => r.problem)).toEqual(['expected a session id string, got object', 'expected a session id string, got number', undefined]);
    const { valid, invalid } = validate(requests);
    expect(valid).toEqual(['ok']);
    expect(invalid.map((i) => i.reason)).toEqual(['expected a session id string, got object', 'expected a session id string, got number']);
  });

  it('rejects an entry delivered too often, or too large to read, without reading it; an entry deleted while pending asks for nothing', () => {
    const { requests, rejections } = parseEntries(
      [
        ['1-0', ['session_id', 'a']],
        ['2-0', ['session_id', 'b']],
        ['3-0', null],
      ],
      context({ deliveries: new Map([['1-0', 6]]), oversized: new Map([['2-0', { items: 2, bytes: 99_999, lengths: [10, 99_989] }]]) }),
    );
    expect(requests).toEqual([]);
    expect(rejections.map((r) => [r.entry.id, r.rejection.code, r.rejection.clipped])).toEqual([
      ['1-0', 'TOO_MANY_DELIVERIES', false],
      ['2-0', 'TOO_LARGE', true],
    ]);
  });
});

describe('rejectInvalid and rejectedRecords (what enqueueCloses found invalid, back to its entries)', () => {
  it('records keep the order of their entries: a whole-entry rejection of a later entry no longer comes before the invalid ids of an earlier one', () => {
    const entries: Array<[string, string[]]> = [
      ['1-0', ['session_ids', '["ok-1", "bad/1"]', 'request_id', 'r-1']],
      ['2-0', ['project_id', 'no-id']],
      ['3-0', ['session_id', 'has space']],
    ];
    const parsed = parseEntries(entries, context());
    const { invalid } = validate(parsed.requests);
    const records = rejectedRecords([...parsed.rejections, ...rejectInvalid(invalid)], 7).map(asMap);
    expect(records.map((r) => [r.entry_id, r.code])).toEqual([
      ['1-0', 'INVALID_SESSION_ID'],
      ['2-0', 'MISSING_SESSION_ID'],
      ['3-0', 'INVALID_SESSION_ID'],
    ]);
    expect(records[0]).toMatchObject({ index: '1', input: '"bad/1"', request_id: 'r-1', reason: expect.stringMatching(/^`session_ids\[1\]` "bad\/1": invalid session id: /) });
    expect(records[2]).toMatchObject({ fields: JSON.stringify(['session_id', 'has space']), reason: expect.stringMatching(/^`session_id` "has space": invalid session id: /) });
  });

  it('summarises beyond 5 invalid ids per entry, counting each entry on its own', () => {
    const ids = (tag: string, bad: number) => JSON.stringify([...Array.from({ length: bad }, (_, i) => `${tag}/${i}`), `${tag}-ok`]);
    const parsed = parseEntries(
      [
        ['1-0', ['session_ids', ids('a', 4)]],
        ['2-0', ['session_ids', ids('b', 6)]],
      ],
      context(),
    );
    const rejections = rejectInvalid(validate(parsed.requests).invalid);
    expect(rejections.map((r) => [r.entry.id, r.rejection.item?.index, r.rejection.items?.count])).toEqual([
      ['1-0', 0, undefined],
      ['1-0', 1, undefined],
      ['1-0', 2, undefined],
      ['1-0', 3, undefined],
      ['2-0', undefined, 6],
    ]);
    expect(rejections[4]?.rejection.reason).toMatch(/^6 of the 7 elements of `session_ids` are invalid \(the 1 others went through\)/);
  });
});

describe('normalizeCloseItem (the validation every item of enqueueCloses goes through)', () => {
  it('an invalid SourcedInput keeps its origin; a reader problem is the reason, without validation', () => {
    expect(normalizeCloseItem(new SourcedInput('a/b', 'line 3'))).toEqual({ input: 'a/b', origin: 'line 3', reason: expect.stringMatching(/^invalid session id: /) });
    expect(normalizeCloseItem(new SourcedInput('fine-id', 'line 4', 'line is longer than 65536 characters'))).toEqual({ input: 'fine-id', origin: 'line 4', reason: 'line is longer than 65536 characters' });
    expect(normalizeCloseItem(new SourcedInput('fine-id', 'line 5'), { requestId: 'r' })).toEqual({ sessionId: 'fine-id', account: 'default', jobId: 'close-fine-id', requestId: 'r' });
  });

  it('a plain object shaped like one ({input, origin}) is an input like any other, not taken for a SourcedInput', () => {
    const r = normalizeCloseItem({ input: 'x', origin: 'line 1' });
    expect(r).toEqual({ input: { input: 'x', origin: 'line 1' }, reason: 'unknown field(s) `input`, `origin`' });
    expect('origin' in r).toBe(false);
  });
});

describe('resolveIngressSettings (the one place ingress options are checked)', () => {
  it('applies the defaults and derives the schedules', () => {
    const s = resolveIngressSettings({ consumerName: 'me' });
    expect(s).toEqual({
      consumerName: 'me',
      claimIdleMs: 30_000,
      batchSize: 100,
      blockMs: 2000,
      maxDeliveries: 5,
      consumerExpiryMs: 3_600_000,
      trimIntervalMs: 1000,
      closeTimeoutMs: 5000,
      claimIntervalMs: 5000,
      pruneIntervalMs: 60_000,
    });
    expect(resolveIngressSettings().consumerName).toMatch(/^.+:\d+:[0-9a-f]{8}$/);
    expect(resolveIngressSettings({ claimIdleMs: 60, consumerExpiryMs: 100 })).toMatchObject({ claimIntervalMs: 50, pruneIntervalMs: 100 });
  });

  it.each([
    [{ maxDeliveries: 1 }, /`maxDeliveries` to be an integer ≥ 2, got `1`/],
    [{ closeTimeoutMs: -1 }, /`closeTimeoutMs` to be an integer ≥ 0, got `-1`/],
    [{ trimIntervalMs: Number.NaN }, /`trimIntervalMs` to be an integer ≥ 1, got `NaN`/],
  ])('rejects %j naming the option and the value', (tuning, message) => {
    expect(() => resolveIngressSettings(tuning)).toThrow(message);
  });
});
