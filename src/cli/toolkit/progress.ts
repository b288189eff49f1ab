import cliProgress from 'cli-progress';
import { printable } from '../../shared/printable.js';
import { jsonText, terminalText } from './output.js';

/** Shows progress of long CLI work: a bar on a TTY, periodic plain or JSON lines otherwise. */
export interface ProgressReporter {
  /** Sets the current value and the fields shown beside it. */
  update(value: number, fields?: Record<string, number | string>): void;
  /** Sets (or changes) the total; 0 means unknown. */
  setTotal(total: number): void;
  /**
   * Prints a message for humans (made printable, see `terminalText`) on its own line of the
   * progress stream. While a bar is drawn, the bar's line is cleared first and the bar is drawn
   * again below the message, so neither garbles the other. A missing final newline is added.
   */
  log(message: string): void;
  /** Stops the bar (leaving its last state visible) or the periodic lines. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is progressing, e.g. `enqueue` or `wait`; the `event` of JSON lines. */
  label: string;
  /** Total to reach; 0 or undefined when unknown. */
  total?: number;
  /** Periodic lines are JSON objects (`--json`). Default false. */
  json?: boolean;
  /** Where progress goes; default stderr, so stdout keeps only the command's result. */
  stream?: NodeJS.WriteStream;
  /** Force the bar on or off; default: a bar when `stream` is a TTY. */
  tty?: boolean;
  /** Period of plain/JSON lines, in ms. The first comes after one period. Default 1000. */
  intervalMs?: number;
  /** Unit of the value in plain text, e.g. `bytes`. Default none. */
  unit?: string;
  /** The bar appears only when work is still going after this long, in ms (no flash for quick work). Default 300. */
  barDelayMs?: number;
}

/** `closed 3, already gone 1`; field values are made printable (the bar and the plain lines show them). */
function describeFields(fields: Record<string, number | string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${printable(k.replace(/([A-Z])/g, ' $1').toLowerCase())} ${typeof v === 'number' ? v : printable(v)}`)
    .join(', ');
}

/** The message as printable text ending in one newline. */
function lineOf(message: string): string {
  const text = terminalText(message);
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * Creates a progress reporter. On a TTY it draws a `cli-progress` bar; otherwise it writes one line
 * per `intervalMs` (only while work is still going, so short work prints nothing).
 */
export function createProgressReporter({ label, total = 0, json = false, stream = process.stderr, tty, intervalMs = 1000, unit = '', barDelayMs = 300 }: ProgressOptions): ProgressReporter {
  let value = 0;
  let fields: Record<string, number | string> = {};
  let max = total;
  if (tty ?? Boolean(stream.isTTY)) {
    const format = (): string => {
      const summary = describeFields(fields);
      const u = unit ? ` ${unit}` : '';
      if (max <= 0) return `${label} ${value}${u} ${summary}`;
      const ratio = Math.min(1, value / max);
      const filled = Math.round(ratio * 30);
      return `${label} [${'█'.repeat(filled)}${'░'.repeat(30 - filled)}] ${Math.floor(ratio * 100)}% ${value}/${max}${u} ${summary}`;
    };
    // forceRedraw: after a message the bar is drawn again even though its text did not change.
    const bar = new cliProgress.SingleBar({ format, stream, hideCursor: true, clearOnComplete: false, fps: 10, forceRedraw: true });
    let started = false;
    let stopped = false;
    const start = setTimeout(() => {
      if (stopped) return;
      started = true;
      bar.start(max, value);
    }, barDelayMs);
    start.unref();
    return {
      update(v, f) {
        value = v;
        if (f) fields = f;
        if (started) bar.update(value);
      },
      setTotal(t) {
        max = t;
        if (started) bar.setTotal(t);
      },
      log(message) {
        if (!started || stopped) {
          stream.write(lineOf(message));
          return;
        }
        // Back to the start of the bar's line, clear it, print the message, then draw the bar again
        // one line lower. ESC 7 saves that spot as the bar's start (cli-progress saved the old one
        // and goes back to it on stop, which would put the next output over the message).
        stream.write(`\r\x1b[2K${lineOf(message)}\x1b7`);
        bar.render();
      },
      stop() {
        stopped = true;
        clearTimeout(start);
        if (!started) return;
        bar.update(value);
        bar.stop();
      },
    };
  }
  const timer = setInterval(() => {
    if (json) stream.write(`${jsonText({ event: label, value, total: max, ...fields, at: new Date().toISOString() })}\n`);
    else stream.write(`${printable(label)}: ${value}${max > 0 ? `/${max}` : ''}${unit ? ` ${printable(unit)}` : ''}${Object.keys(fields).length ? ` (${describeFields(fields)})` : ''}\n`);
  }, intervalMs);
  timer.unref();
  return {
    update(v, f) {
      value = v;
      if (f) fields = f;
    },
    setTotal(t) {
      max = t;
    },
    log(message) {
      stream.write(lineOf(message));
    },
    stop() {
      clearInterval(timer);
    },
  };
}
