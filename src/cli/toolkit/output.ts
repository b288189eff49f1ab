import { BbReaperError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';

/**
 * Characters `JSON.stringify` leaves raw although a terminal may act on them or they hide text:
 * DEL, the C1 controls (U+009B is a one-character CSI), Unicode format characters (U+202E
 * reverses text) and the line/paragraph separators. C0 controls are escaped by JSON already.
 */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

const jsonEscape = (c: string): string => {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
};

/**
 * `JSON.stringify(value, null, indent)` with every character a terminal could act on escaped as
 * `\uXXXX`, so `--json` output is safe to print and still parses to the same value (those
 * characters can only occur inside JSON strings). A value nested too deeply for `JSON.stringify`
 * is an error with code `OUTPUT_TOO_DEEP` (exit 1) instead of a stack overflow.
 */
export function jsonText(value: unknown, indent?: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, indent);
  } catch (err) {
    if (err instanceof RangeError) throw new BbReaperError('OUTPUT_TOO_DEEP', 'cannot print the result as JSON: it is nested too deeply', { cause: err });
    throw err;
  }
  return (text ?? 'null').replace(JSON_UNSAFE, jsonEscape);
}

/**
 * Human text with every control and invisible character made visible (see `printable`), line
 * breaks kept. Values from outside are made printable where they are formatted, so a newline in
 * one cannot start a fake line; this is the last net for whatever reaches the terminal.
 */
export function terminalText(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** Writes human text to stdout (see {@link terminalText}). */
export function printOut(text: string): void {
  process.stdout.write(terminalText(text));
}

/** Writes human text to stderr (see {@link terminalText}). */
export function printErr(text: string): void {
  process.stderr.write(terminalText(text));
}

/** Writes one JSON document and a newline to stdout (see {@link jsonText}). */
export function printJson(value: unknown, indent?: number): void {
  process.stdout.write(`${jsonText(value, indent)}\n`);
}
