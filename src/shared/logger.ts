import { pino, type Logger, type LoggerOptions } from 'pino';
import { printable } from './printable.js';

export type { Logger };

/**
 * Paths pino replaces with `[redacted]` wherever they appear in a log line: secrets are kept out
 * of logs by configuration, not by care.
 */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'config.apiKey',
  'uiPassword',
  '*.uiPassword',
  'metricsToken',
  '*.metricsToken',
  'password',
  '*.password',
  'headers["x-bb-api-key"]',
  '*.headers["x-bb-api-key"]',
  'req.headers.authorization',
  'req.headers["x-bb-api-key"]',
];

export interface CreateLoggerOptions {
  /** pino level; default `info`. */
  level?: LoggerOptions['level'];
  /** Pretty-print for humans; default: only when stdout is a TTY. */
  pretty?: boolean;
  /** Where to write; default stdout (fd 1). Use 2 for commands whose stdout is data. */
  destination?: number;
  /** Extra base fields. */
  base?: Record<string, unknown>;
}

/** The project's pino logger: JSON lines, secrets redacted, pino-pretty only on a TTY. */
export function createLogger({ level = 'info', pretty, destination = 1, base }: CreateLoggerOptions = {}): Logger {
  const usePretty = pretty ?? Boolean(destination === 2 ? process.stderr.isTTY : process.stdout.isTTY);
  const options: LoggerOptions = {
    level,
    base: { pid: process.pid, ...base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (usePretty) {
    // pino-pretty prints values as they are: a session id or server message with ESC/OSC in it
    // would reach the terminal raw. Strings are made printable first (JSON lines need no such
    // step: JSON escapes control characters).
    const formatters = { log: (o: Record<string, unknown>) => visibleFields(o, 0) };
    return pino({ ...options, formatters, transport: { target: 'pino-pretty', options: { destination, colorize: true } } });
  }
  return pino(options, pino.destination({ dest: destination, sync: false }));
}

/** A log object with every string (nested up to 4 levels) made printable for a terminal. */
function visibleFields(o: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out[k] = printable(v);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Error) && depth < 4) out[k] = visibleFields(v as Record<string, unknown>, depth + 1);
    else out[k] = v;
  }
  return out;
}
