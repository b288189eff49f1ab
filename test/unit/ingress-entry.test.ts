import { describe, expect, it } from 'vitest';
import { buildRejectedRecord, INGRESS_LIMITS, MAX_ITEM_REJECTIONS, parseIngressEntry, rejectOversizedEntry } from '../../src/ingress/index.js';

const ID = '0b4f2c9e-1a3d-4f6b-9c2e-7d8a5b3c1e0f';

describe('parseIngressEntry', () => {
  it('reads a single id with its correlation fields', () => {
    expect(parseIngressEntry(['session_id', ID, 'project_id', 'p1', 'request_id', 'r1'])).toEqual({
      requests: [{ sessionId: ID, projectId: 'p1', requestId: 'r1' }],
      rejections: [],
    });
  });

  it('reads a batch and applies the entry-level request id to every id', () => {
    const r = parseIngressEntry(['session_ids', JSON.stringify(['a1', 'b2', 'c3']), 'request_id', 'req-9']);
    expect(r.rejections).toEqual([]);
    expect(r.requests).toEqual([
      { sessionId: 'a1', requestId: 'req-9' },
      { sessionId: 'b2', requestId: 'req-9' },
      { sessionId: 'c3', requestId: 'req-9' },
    ]);
  });

  it('lets the valid ids of a batch through and rejects each invalid one with its index and reason', () => {
    const r = parseIngressEntry(['session_ids', JSON.stringify(['ok-1', 'bad/id', 42, '', 'ok-2', null])]);
    expect(r.requests.map((x) => x.sessionId)).toEqual(['ok-1', 'ok-2']);
    expect(r.rejections.map((x) => [x.code, x.item?.index, x.item?.input])).toEqual([
      ['INVALID_SESSION_ID', 1, 'bad/id'],
      ['INVALID_SESSION_ID', 2, 42],
      ['INVALID_SESSION_ID', 3, ''],
      ['INVALID_SESSION_ID', 5, null],
    ]);
    expect(r.rejections[0]?.reason).toMatch(/session_ids\[1\].*bad\/id.*`\/`/);
    expect(r.rejections[1]?.reason).toMatch(/expected a session id string, got number/);
    expect(r.rejections[2]?.reason).toMatch(/is empty/);
  });

  it.each([
    [['project_id', 'p'], 'MISSING_SESSION_ID', /neither `session_id` nor `session_ids`/],
    [['session_id', ''], 'INVALID_SESSION_ID', /`session_id` "": invalid session id: is empty/],
    [['session_id', 'a b'], 'INVALID_SESSION_ID', /whitespace/],
    [['session_id', 'x'.repeat(300)], 'INVALID_SESSION_ID', /300 characters/],
    [['session_ids', '[not json'], 'INVALID_JSON', /not valid JSON .*"\[not json"/],
    [['session_ids', '{"a":1}'], 'INVALID_FIELD', /must be a JSON array.*got object/],
    [['session_ids', '[]'], 'MISSING_SESSION_ID', /empty array/],
    [['session_id', 'a', 'session_ids', '["b"]'], 'INVALID_FIELD', /either `session_id` or `session_ids`, not both/],
    [['session_id', 'a', 'session_id', 'b'], 'DUPLICATE_FIELD', /`session_id` appears more than once/],
    [['sessionId', 'a'], 'UNKNOWN_FIELD', /`sessionId`; did you mean `session_id`/],
    [['session_id', 'a', 'requestId', 'r'], 'UNKNOWN_FIELD', /did you mean `request_id`/],
    [['session_id', 'a', 'request_id', ''], 'INVALID_FIELD', /`request_id` must be a non-empty string/],
    [['session_id', 'a', 'project_id', 'p\n'], 'INVALID_FIELD', /`project_id`.*"p\\n"/],
    [['session_id', 'a', 'request_id', 'r'.repeat(257)], 'INVALID_FIELD', /at most 256 characters/],
  ] as const)('rejects %j whole as %s', (pairs, code, reason) => {
    const r = parseIngressEntry(pairs);
    expect(r.requests).toEqual([]);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0]?.code).toBe(code);
    expect(r.rejections[0]?.reason).toMatch(reason);
    expect(r.rejections[0]?.item).toBeUndefined();
  });

  it('ignores a few unknown fields (e.g. a trace id) but rejects entries whose extra fields exceed the limit', () => {
    expect(parseIngressEntry(['session_id', 'a', 'trace_id', 't-1', 'source', 'billing']).requests).toEqual([{ sessionId: 'a' }]);
    const many = Array.from({ length: INGRESS_LIMITS.maxUnknownFields + 1 }, (_, i) => [`x${i}`, 'v']).flat();
    expect(parseIngressEntry(['session_id', 'a', ...many]).rejections[0]?.code).toBe('TOO_LARGE');
    const big = parseIngressEntry(['session_id', 'a', 'blob', 'z'.repeat(INGRESS_LIMITS.maxUnknownLength)]);
    expect(big.rejections[0]).toMatchObject({ code: 'TOO_LARGE', reason: expect.stringMatching(/1 unknown field\(s\) of 4100 characters/) });
  });

  it('rejects batches beyond the size limits without parsing them', () => {
    const tooMany = parseIngressEntry(['session_ids', JSON.stringify(Array.from({ length: INGRESS_LIMITS.maxBatchIds + 1 }, (_, i) => `s${i}`))]);
    expect(tooMany.rejections[0]).toMatchObject({ code: 'TOO_LARGE', reason: expect.stringMatching(/10001 ids; the maximum is 10000: split the batch/) });
    const tooLong = parseIngressEntry(['session_ids', `["${'a'.repeat(INGRESS_LIMITS.maxSessionIdsLength)}"]`]);
    expect(tooLong.rejections[0]?.code).toBe('TOO_LARGE');
  });
});

describe('parseIngressEntry against hostile input', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('a 5,000-level nested array element no longer throws (JSON.stringify overflowed the stack in the preview): it is rejected with a readable reason', () => {
    const r = parseIngressEntry(['session_ids', `["ok-1",${nested(5000)},"ok-2"]`]);
    expect(r.requests.map((x) => x.sessionId)).toEqual(['ok-1', 'ok-2']);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0]).toMatchObject({ code: 'INVALID_SESSION_ID', item: { index: 1 } });
    expect(r.rejections[0]?.reason).toBe('`session_ids[1]` "[[[[[[[[[…]]]]]]]]]": expected a session id string, got an array');
    // ...and so does its record (the element as JSON would overflow too).
    const rec = buildRejectedRecord('1-0', ['session_ids', '…'], r.rejections[0]!, 1);
    expect(rec.slice(rec.indexOf('input'), rec.indexOf('input') + 2)).toEqual(['input', '"[[[[[[[[[…]]]]]]]]]"']);
    expect(rec.slice(-2)).toEqual(['truncated', '1']);
  });

  it('is total: whatever it is handed, anything thrown while reading becomes an UNPARSEABLE rejection with the message', () => {
    const hostile = new Proxy(['session_id', 'a'], {
      get(target, key, receiver) {
        if (key === '1') throw new RangeError('Maximum call stack size exceeded');
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    for (const input of [hostile, null, undefined]) {
      const r = parseIngressEntry(input as unknown as string[]);
      expect(r.requests).toEqual([]);
      expect(r.rejections).toHaveLength(1);
      expect(r.rejections[0]?.code).toBe('UNPARSEABLE');
      expect(r.rejections[0]?.reason).toMatch(/^the entry could not be read \((RangeError: Maximum call stack size exceeded|TypeError: .+)\)$/);
    }
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('an extra field named %s is ignored as an unknown field, not reported as a misspelling', (name) => {
    expect(parseIngressEntry(['session_id', 'a', name, 'x'])).toEqual({ requests: [{ sessionId: 'a' }], rejections: [] });
  });

  it(`records up to ${MAX_ITEM_REJECTIONS} invalid elements one by one, and more than that as one summarised rejection (10,000 of them wrote 10,000 records)`, () => {
    const five = parseIngressEntry(['session_ids', JSON.stringify(['a/1', 'a/2', 'ok', 'a/3', 'a/4', 'a/5'])]);
    expect(five.rejections.map((x) => x.item?.index)).toEqual([0, 1, 3, 4, 5]);
    const ids = Array.from({ length: INGRESS_LIMITS.maxBatchIds }, (_, i) => (i === 7 ? 'fine-7' : i % 2 ? `bad/${i}` : i));
    const r = parseIngressEntry(['session_ids', JSON.stringify(ids), 'request_id', 'r-1']);
    expect(r.requests).toEqual([{ sessionId: 'fine-7', requestId: 'r-1' }]);
    expect(r.rejections).toHaveLength(1);
    const [summary] = r.rejections;
    expect(summary).toMatchObject({ code: 'INVALID_SESSION_ID', items: { count: 9999 } });
    expect(summary?.item).toBeUndefined();
    expect(summary?.items?.first.map((i) => [i.index, i.input])).toEqual([[0, 0], [1, 'bad/1'], [2, 2], [3, 'bad/3'], [4, 4]]);
    expect(summary?.reason).toMatch(/^9999 of the 10000 elements of `session_ids` are invalid \(the 1 others went through\); the first: `session_ids\[0\]` "0": expected a session id string, got number$/);
    const rec = buildRejectedRecord('9-0', ['session_ids', JSON.stringify(ids), 'request_id', 'r-1'], summary!, 3);
    const m = Object.fromEntries(rec.flatMap((v, i) => (i % 2 === 0 ? [[v, rec[i + 1]]] : [])));
    expect(m).toMatchObject({ entry_id: '9-0', code: 'INVALID_SESSION_ID', invalid_count: '9999', request_id: 'r-1' });
    expect(m.fields).toBeUndefined();
    expect(JSON.parse(m.invalid_items!)).toEqual([
      { index: 0, input: '0', reason: expect.stringMatching(/got number/) },
      { index: 1, input: '"bad/1"', reason: expect.stringMatching(/`session_ids\[1\]` "bad\/1": invalid session id: /) },
      { index: 2, input: '2', reason: expect.any(String) },
      { index: 3, input: '"bad/3"', reason: expect.any(String) },
      { index: 4, input: '4', reason: expect.any(String) },
    ]);
  });

  it('describes an entry too large to read by its field names and byte lengths', () => {
    const r = rejectOversizedEntry(['session_ids', 'x'.repeat(1024), 'request_id', 'r'], { items: 4, bytes: 41_943_067, lengths: [11, 41_943_040, 10, 1] });
    expect(r).toEqual({
      requests: [],
      rejections: [{ code: 'TOO_LARGE', clipped: true, reason: 'the entry is too large to read (41943067 bytes in all): field "session_ids" is 41943040 bytes long (at most 1048576 characters are accepted)' }],
    });
  });
});

describe('buildRejectedRecord', () => {
  const asMap = (flat: string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));

  it('keeps the original fields of a whole rejected entry as a JSON array of pairs', () => {
    const pairs = ['session_id', 'a', 'session_id', 'b'];
    const rec = asMap(buildRejectedRecord('1-0', pairs, { code: 'DUPLICATE_FIELD', reason: 'why' }, 1234));
    expect(rec).toEqual({ entry_id: '1-0', code: 'DUPLICATE_FIELD', reason: 'why', rejected_at: '1234', fields: JSON.stringify(pairs) });
  });

  it('records one rejected batch element with its index, input and the entry correlation fields', () => {
    const pairs = ['session_ids', '["ok", 7]', 'request_id', 'r-1'];
    const rec = asMap(buildRejectedRecord('2-0', pairs, { code: 'INVALID_SESSION_ID', reason: 'bad', item: { index: 1, input: 7 } }, 5));
    expect(rec).toEqual({ entry_id: '2-0', code: 'INVALID_SESSION_ID', reason: 'bad', rejected_at: '5', index: '1', input: '7', request_id: 'r-1' });
  });

  it('cuts huge values and says so', () => {
    const rec = asMap(buildRejectedRecord('3-0', ['session_ids', 'x'.repeat(100_000)], { code: 'INVALID_JSON', reason: 'r' }));
    expect(rec.truncated).toBe('1');
    expect((JSON.parse(rec.fields ?? '[]') as string[])[1]).toHaveLength(8192);
  });
});
