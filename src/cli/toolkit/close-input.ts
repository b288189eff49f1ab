import { BbReaperError } from '../../shared/errors.js';

/** One item read from a file or stdin, with where it was. */
export interface RawInput {
  /** A session id string, or (JSON arrays) any JSON value. */
  value: unknown;
  /** `line 12` or `element 3` (1-based), for messages. */
  where: string;
  /** Set when the item is unusable before validation, e.g. a line too long or bad JSON. */
  reason?: string;
}

/** The input as a whole cannot be read on, e.g. a JSON array that never closes. */
export class InputFormatError extends BbReaperError {
  constructor(message: string) {
    super('INPUT_MALFORMED', message);
    this.name = 'InputFormatError';
  }
}

/** Longest line or JSON element kept, in characters; longer ones are reported, not buffered. */
export const MAX_ITEM_CHARS = 64 * 1024;

/**
 * Reads close inputs from a stream with bounded memory. The format is chosen by the first
 * non-blank character: `[` starts a JSON array (of id strings or `{sessionId, projectId?,
 * requestId?}` objects), anything else is one session id per line, where blank lines and lines
 * starting with `#` are ignored and surrounding whitespace is trimmed.
 */
export async function* readCloseInputs(chunks: AsyncIterable<string | Uint8Array>, name = 'input'): AsyncGenerator<RawInput> {
  const decoder = new TextDecoder('utf-8');
  let mode = 'unknown' as 'unknown' | 'lines' | 'json';
  const lines = createLineSplitter();
  const json = createJsonArraySplitter(name);
  const feed = function* (text: string): Generator<RawInput> {
    if (mode === 'unknown') {
      const t = text.replace(/^\uFEFF/, '');
      const m = /\S/.exec(t);
      if (!m) {
        lines.push(text);
        return;
      }
      mode = t[m.index] === '[' ? 'json' : 'lines';
      if (mode === 'json') {
        yield* json.push(lines.takeBuffered() + t);
        return;
      }
    }
    yield* mode === 'json' ? json.push(text) : lines.push(text);
  };
  for await (const chunk of chunks) {
    yield* feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* feed(decoder.decode());
  if (mode === 'json') json.end();
  else yield* lines.end();
}

function createLineSplitter() {
  let buf = '';
  let lineNo = 0;
  let skipping = false;
  const emit = (raw: string): RawInput | undefined => {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return undefined;
    return { value: line, where: `line ${lineNo}` };
  };
  return {
    takeBuffered(): string {
      const b = buf;
      buf = '';
      return b;
    },
    *push(text: string): Generator<RawInput> {
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (skipping) {
          skipping = false;
          lineNo++;
          continue;
        }
        const item = emit(raw);
        if (item) yield item;
      }
      if (!skipping && buf.length > MAX_ITEM_CHARS) {
        skipping = true;
        yield { value: `${buf.slice(0, 40)}…`, where: `line ${lineNo + 1}`, reason: `line is longer than ${MAX_ITEM_CHARS} characters` };
      }
      if (skipping) buf = '';
    },
    *end(): Generator<RawInput> {
      if (skipping) return;
      if (buf.length > 0) {
        const item = emit(buf);
        buf = '';
        if (item) yield item;
      }
    },
  };
}

/** Splits a top-level JSON array into its elements' texts without parsing the whole document. */
function createJsonArraySplitter(name: string) {
  let state: 'start' | 'element' | 'done' = 'start';
  let elem = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let index = 0;
  let offset = 0;
  let tooLong = false;
  const fail = (what: string): never => {
    throw new InputFormatError(`${name} is not a valid JSON array: ${what} at character ${offset}`);
  };
  const finishElement = (): RawInput | undefined => {
    const text = elem.trim();
    elem = '';
    if (text === '' && !tooLong) fail('empty element');
    index++;
    const where = `element ${index}`;
    if (tooLong) {
      tooLong = false;
      return { value: undefined, where, reason: `element is longer than ${MAX_ITEM_CHARS} characters` };
    }
    try {
      return { value: JSON.parse(text) as unknown, where };
    } catch (err) {
      return { value: text.length > 40 ? `${text.slice(0, 40)}…` : text, where, reason: `invalid JSON: ${(err as Error).message}` };
    }
  };
  return {
    *push(text: string): Generator<RawInput> {
      for (const ch of text) {
        offset++;
        if (state === 'start') {
          if (/\s/.test(ch) || ch === '\uFEFF') continue;
          if (ch !== '[') fail(`expected \`[\`, found \`${ch}\``);
          state = 'element';
          continue;
        }
        if (state === 'done') {
          if (!/\s/.test(ch)) fail(`unexpected \`${ch}\` after the closing \`]\``);
          continue;
        }
        // state === 'element'
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') inString = false;
        } else if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
          if (depth === 0) {
            if (ch === ']' && elem.trim() === '' && index === 0) {
              state = 'done';
              continue;
            }
            const item = finishElement();
            if (item) yield item;
            if (ch !== ']') fail('unbalanced `}`');
            state = 'done';
            continue;
          }
          depth--;
        } else if (ch === ',' && depth === 0) {
          const item = finishElement();
          if (item) yield item;
          continue;
        }
        if (!tooLong) {
          elem += ch;
          if (elem.length > MAX_ITEM_CHARS) {
            tooLong = true;
            elem = '';
          }
        }
      }
    },
    end(): void {
      if (state !== 'done') fail(state === 'start' ? 'no array found' : 'the array never closes (missing `]`)');
    },
  };
}
