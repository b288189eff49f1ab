import { pino, type Logger, type LoggerOptions } from 'pino';

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
    return pino({ ...options, transport: { target: 'pino-pretty', options: { destination, colorize: true } } });
  }
  return pino(options, pino.destination({ dest: destination, sync: false }));
}
