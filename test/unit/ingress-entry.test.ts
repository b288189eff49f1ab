import { describe, expect, it } from 'vitest';
import { INGRESS_LIMITS, parseIngressEntry } from '../../src/producer/ingress-entry.js';
import { buildRejectedRecord } from '../../src/producer/ingress-stream.js';

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
