import { describe, expect, it } from 'vitest';
import { InputFormatError, MAX_ITEM_CHARS, readCloseInputs, type RawInput } from '../../src/cli/toolkit/close-input.js';

async function read(...chunks: string[]): Promise<RawInput[]> {
  const out: RawInput[] = [];
  async function* gen() {
    for (const c of chunks) yield new TextEncoder().encode(c);
  }
  for await (const item of readCloseInputs(gen(), 'test input')) out.push(item);
  return out;
}

describe('readCloseInputs: lines', () => {
  it('yields one trimmed id per line with its line number, skipping blanks and comments', async () => {
    const items = await read('# header\n', 'a-1\n\n  b-2  \r\n#c\nc-3');
    expect(items).toEqual([
      { value: 'a-1', where: 'line 2' },
      { value: 'b-2', where: 'line 4' },
      { value: 'c-3', where: 'line 6' },
    ]);
  });

  it('joins lines and multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('ses\u00e9-1\nx\n');
    const out: RawInput[] = [];
    async function* gen() {
      yield bytes.slice(0, 4); // splits the two bytes of é
      yield bytes.slice(4);
    }
    for await (const item of readCloseInputs(gen())) out.push(item);
    expect(out.map((i) => i.value)).toEqual(['ses\u00e9-1', 'x']);
  });

  it('reports an over-long line once and goes on with the next', async () => {
    const long = 'x'.repeat(MAX_ITEM_CHARS + 10);
    const items = await read('ok-1\n', long.slice(0, 40_000), long.slice(40_000), '\nok-2\n');
    expect(items.map((i) => [i.where, i.reason !== undefined])).toEqual([
      ['line 1', false],
      ['line 2', true],
      ['line 3', false],
    ]);
  });
});

describe('readCloseInputs: JSON arrays', () => {
  it('yields each element with its index, across chunk boundaries', async () => {
    const items = await read('  [ "a-1", {"sessionId": "b-2", "requestId": "r,]"}', ' ,\n"c-3"]  \n');
    expect(items).toEqual([
      { value: 'a-1', where: 'element 1' },
      { value: { sessionId: 'b-2', requestId: 'r,]' }, where: 'element 2' },
      { value: 'c-3', where: 'element 3' },
    ]);
  });

  it('keeps elements that are not ids for validation to reject, and reports bad JSON per element', async () => {
    const items = await read('[1, null, ["x"], "ok", tru]');
    expect(items.map((i) => i.value)).toEqual([1, null, ['x'], 'ok', 'tru']);
    expect(items[4]?.reason).toMatch(/invalid JSON/);
  });

  it('yields a 5,000-level nested array element as a value with its number, and the elements around it', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const items = await read(`["a-1", ${deep.slice(0, 3000)}`, `${deep.slice(3000)}, "b-2"]`);
    expect(items.map((i) => [i.where, i.reason])).toEqual([
      ['element 1', undefined],
      ['element 2', undefined],
      ['element 3', undefined],
    ]);
    expect(Array.isArray(items[1]?.value)).toBe(true);
    expect(items[2]?.value).toBe('b-2');
  });

  it('reads an empty array as nothing', async () => {
    expect(await read('[ ]')).toEqual([]);
  });

  it.each([
    ['["a", "b"', /never closes/],
    ['["a",]', /empty element/],
    ['["a"] x', /after the closing/],
    ['["a"}', /unbalanced/],
  ])('fails on %j after yielding the elements before the problem', async (text, message) => {
    const seen: unknown[] = [];
    async function* gen() {
      yield text;
    }
    await expect(async () => {
      for await (const item of readCloseInputs(gen(), 'ids.json')) seen.push(item.value);
    }).rejects.toThrowError(InputFormatError);
    await expect(read(text)).rejects.toThrowError(message);
    expect(seen[0]).toBe('a');
  });
});
