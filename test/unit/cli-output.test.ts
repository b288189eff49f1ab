import { describe, expect, it } from 'vitest';
import { jsonText, terminalText } from '../../src/cli/toolkit/output.js';
import { compactJson, displayText, formatTable, truncate } from '../../src/cli/toolkit/table.js';

// eslint-disable-next-line no-control-regex -- matching raw control characters is the point
const RAW_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]/u;
const HOSTILE = 'a\x1b]52;c;aGk=\x07b\x1b[31mc\u009b2Jd\u202ee\u2028f\u200bg\x7fh';

describe('jsonText', () => {
  it('--json output no longer carries C1 controls, bidi overrides or separators raw (JSON.stringify leaves them), and parses to the same value', () => {
    const tag = '\u{e0041}'; // an invisible tag character, outside the BMP
    const value = { id: HOSTILE, list: [HOSTILE, 1, null, tag], nested: { [HOSTILE]: true } };
    for (const indent of [undefined, 2]) {
      const text = jsonText(value, indent);
      expect(JSON.stringify(value, null, indent)).toMatch(RAW_CONTROLS); // what it used to print
      expect(text).not.toMatch(RAW_CONTROLS);
      expect(text).not.toMatch(/[\u{e0000}-\u{e007f}]/u);
      expect(JSON.parse(text)).toEqual(value);
    }
    expect(jsonText({ a: 1 }, 2)).toBe('{\n  "a": 1\n}');
  });

  it('a value nested too deeply for JSON.stringify is an OUTPUT_TOO_DEEP error, not a stack overflow', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => jsonText(deep)).toThrow(expect.objectContaining({ code: 'OUTPUT_TOO_DEEP' }));
  });
});

describe('human output', () => {
  it('terminalText keeps line breaks and shows every other control character', () => {
    expect(terminalText(`one ${HOSTILE}\ntwo\r\n`)).toBe('one a\\x1b]52;c;aGk=\\x07b\\x1b[31mc\\x9b2Jd\\u202ee\\u2028f\\u200bg\\x7fh\ntwo\\r\n');
  });

  it('formatTable shows control characters in cells visibly, one line per row, aligned on what is shown', () => {
    const table = formatTable(['ID', 'MESSAGE'], [[`x\x1b[31m`, 'line\nbreak'], ['y', 'ok']]);
    expect(table).toBe('ID         MESSAGE\nx\\x1b[31m  line\\nbreak\ny          ok\n');
  });

  it('truncate puts text on one line and makes it printable before cutting', () => {
    expect(truncate('a\n\x1b[2Jb', 80)).toBe('a \\x1b[2Jb');
    const cut = truncate('\u202e'.repeat(10), 8);
    expect(cut).toHaveLength(8);
    expect(cut).not.toMatch(RAW_CONTROLS);
  });

  it('displayText and compactJson never throw, whatever the value', () => {
    let deep: unknown = [];
    for (let i = 0; i < 5000; i++) deep = [deep];
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(displayText(deep, 80)).toBe('[[[[[[[[[…]]]]]]]]]');
    expect(displayText(cycle)).toBe('{"a":1,"self":{…}}');
    expect([displayText('s'), displayText(42), displayText(undefined), displayText(null), displayText(true)]).toEqual(['s', '42', '', '', 'true']);
    expect(compactJson({ owner: 'ci' }, 60)).toBe('{"owner":"ci"}');
    expect(compactJson(deep, 60)).toBe('[[[[[[[[[…]]]]]]]]]');
    expect(compactJson({ t: '\u202ex' }, 60)).toBe('{"t":"\\u202ex"}');
  });
});
