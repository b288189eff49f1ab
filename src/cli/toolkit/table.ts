import { previewValue, printable } from '../../shared/printable.js';

/**
 * Renders rows as an aligned plain-text table (two spaces between columns), header first. Cells
 * usually hold values from outside (session ids, messages), so each is made printable first:
 * control characters are shown as `\x1b`, `\n`, ... and widths are those of what is shown.
 */
export function formatTable(header: string[], rows: string[][]): string {
  const shown = rows.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...shown.map(line)].join('\n')}\n`;
}

/** Shortens text to `max` characters with an ellipsis, on one line, control characters made visible. */
export function truncate(text: string, max: number): string {
  const one = printable(text.replace(/\s+/g, ' '));
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/**
 * Any value from outside as short text (not yet printable): a string as it is, a number or boolean
 * as its text, nothing as `''`, anything else as compact JSON of at most about `max` characters.
 * Never throws, whatever the value (a 5,000-level nested array, a cycle).
 */
export function displayText(value: unknown, max = 80): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  const quoted = previewValue(value, max);
  try {
    // previewValue quotes its rendering as a JSON string; show the rendering itself (`[1,2]`, `{"a":1}`).
    return String(JSON.parse(quoted));
  } catch {
    return quoted;
  }
}

/**
 * Compact JSON of a value from outside (e.g. a session's `userMetadata`), shortened like
 * {@link truncate}. A value `JSON.stringify` cannot render (nested thousands deep) is previewed.
 */
export function compactJson(value: unknown, max: number): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? displayText(value, max);
  } catch {
    text = displayText(value, max);
  }
  return truncate(text, max);
}

/** "3m12s ago"-style age of a timestamp, for humans. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
