import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { previewSessionId } from '../browserbase/session-id.js';
import { isInvalid, normalizeCloseRequest } from '../producer/close-request.js';
import { enqueueCloses } from '../producer/enqueue.js';
import { createProducer } from '../producer/producer.js';
import { printable } from '../shared/printable.js';
import { parseDuration } from '../shared/duration.js';
import { InputFormatError, readCloseInputs, type RawInput } from './close-input.js';
import { action, addConfigOptions, CliError, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { EXIT_INTERRUPTED, followCloses, printWaitReport, warnIfNoWorker, type FollowReport } from './follow.js';
import { printErr, printJson, printOut } from './toolkit/output.js';
import { createProgressReporter } from './toolkit/progress.js';
import { displayText } from './toolkit/table.js';

interface CloseOptions {
  file?: string;
  projectId?: string;
  requestId?: string;
  wait?: boolean;
  waitTimeout?: string;
  json?: boolean;
  [key: string]: unknown;
}

/** An input that was not enqueued, where it was, and why. */
export interface InvalidInput {
  where: string;
  input: string;
  reason: string;
}

/** Invalid inputs kept for the report (all are counted). */
const MAX_INVALID_KEPT = 1000;
/** Invalid inputs printed in human output. */
const MAX_INVALID_PRINTED = 20;

export function register(program: Command): void {
  const cmd = program
    .command('close')
    .summary('enqueue closes of Browserbase sessions')
    .description(
      'Enqueue closes of Browserbase sessions: ids as arguments, from a file (--file), or from stdin (`-`). ' +
        'A file or stdin holds one id per line (blank lines and `#` comments ignored) or a JSON array of ids ' +
        'or {sessionId, projectId?, requestId?} objects; it is streamed with bounded memory. Invalid inputs are ' +
        'reported with their line or element number and the valid ones are still enqueued.',
    )
    .argument('[ids...]', 'session ids; `-` reads stdin')
    .option('-f, --file <path>', 'read ids from this file (`-` for stdin)')
    .option('--project-id <id>', 'projectId sent with every close (default: the worker\'s BROWSERBASE_PROJECT_ID)')
    .option('--request-id <id>', 'requestId recorded with every close (echoed in the results stream)')
    .option('--wait', 'follow the closes until each is final, then print closed / already gone / dead-lettered')
    .option('--wait-timeout <duration>', 'with --wait: give up after this long (e.g. 10m), exit 1')
    .option('--json', 'print the report as JSON on stdout (progress lines on stderr are JSON too)');
  addConfigOptions(cmd, ['redisUrl', 'prefix']);
  cmd.addHelpText(
    'after',
    `
Examples:
  bb-reaper close 4f1c2d... 9a8b7c...
  bb-reaper close --file ids.txt --wait
  jq -r '.[].id' sessions.json | bb-reaper close - --json

Exit codes: 0 done; 1 runtime failure; 2 some inputs were invalid (valid ones were enqueued);
3 with --wait, some closes were dead-lettered (2 wins when both apply).`,
  );
  cmd.action(action(async (ids: string[], opts: CloseOptions) => runClose(ids, opts)));
}

async function runClose(ids: string[], opts: CloseOptions): Promise<number> {
  const stdinCount = ids.filter((id) => id === '-').length + (opts.file === '-' ? 1 : 0);
  if (ids.length === 0 && opts.file === undefined) throw new CliError('nothing to close: give session ids, --file FILE, or `-` to read stdin (see --help)', EXIT.USAGE);
  if (stdinCount > 1) throw new CliError('stdin (`-`) can be read only once', EXIT.USAGE);
  if (opts.waitTimeout !== undefined && !opts.wait) throw new CliError('--wait-timeout needs --wait', EXIT.USAGE);
  const waitTimeoutMs = opts.waitTimeout === undefined ? undefined : parseDurationOption(opts.waitTimeout, '--wait-timeout');
  if (opts.file !== undefined && opts.file !== '-') {
    const s = await stat(opts.file).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read --file \`${opts.file}\`: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, EXIT.USAGE);
    });
    if (!s.isFile()) throw new CliError(`cannot read --file \`${opts.file}\`: not a regular file`, EXIT.USAGE);
  }
  const config = loadConfig(opts);
  const redis = await connectRedis(config, 'cli-close');
  const producer = createProducer({ connection: redis, prefix: config.prefix });
  try {
    const invalid: InvalidInput[] = [];
    let invalidCount = 0;
    const defaults = { projectId: opts.projectId, requestId: opts.requestId };
    async function* valid(): AsyncGenerator<unknown> {
      for await (const item of inputsOf(ids, opts.file)) {
        const problem = item.reason ?? (() => {
          const r = normalizeCloseRequest(item.value, defaults);
          return isInvalid(r) ? r.reason : undefined;
        })();
        if (problem === undefined) {
          yield item.value;
          continue;
        }
        invalidCount++;
        if (invalid.length < MAX_INVALID_KEPT) invalid.push({ where: item.where, input: preview(item.value), reason: problem });
      }
    }
    const progress = createProgressReporter({ label: 'enqueue', unit: 'read', json: opts.json });
    let report;
    try {
      report = await enqueueCloses({ queue: producer.queues.closeQueue, redis }, valid(), {
        ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}),
        ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
        source: 'cli',
        collectJobIds: Boolean(opts.wait),
        onProgress: (p) => progress.update(p.processed + invalidCount, { accepted: p.accepted, duplicates: p.duplicates, invalid: invalidCount }),
      });
    } catch (err) {
      if (err instanceof InputFormatError) throw new CliError(`${err.message} (inputs before it were enqueued)`, EXIT.USAGE);
      throw err;
    } finally {
      progress.stop();
    }
    const enqueued = { accepted: report.accepted, duplicates: report.duplicates, invalidCount, invalid };
    if (!opts.json) printEnqueueReport(enqueued);
    let waited: FollowReport | undefined;
    if (opts.wait) {
      if (!opts.json) await warnIfNoWorker(redis, config.prefix);
      waited = await followCloses({ queues: producer.queues, redis }, report.jobIds, { json: opts.json, timeoutMs: waitTimeoutMs });
      if (!opts.json) printWaitReport(waited);
    }
    if (opts.json) printJson({ ...enqueued, ...(waited ? { wait: waited } : {}) });
    if (waited?.aborted) return waited.timedOut ? EXIT.FAILURE : EXIT_INTERRUPTED;
    if (invalidCount > 0) return EXIT.USAGE;
    if (waited && waited.deadLettered > 0) return EXIT.DEAD_LETTERED;
    return EXIT.OK;
  } finally {
    await producer.close();
    await closeRedis(redis);
  }
}

async function* inputsOf(ids: string[], file: string | undefined): AsyncGenerator<RawInput> {
  let n = 0;
  for (const id of ids) {
    n++;
    if (id === '-') yield* readCloseInputs(process.stdin, 'stdin');
    else yield { value: id, where: `argument ${n}` };
  }
  if (file === '-') yield* readCloseInputs(process.stdin, 'stdin');
  else if (file !== undefined) yield* readCloseInputs(createReadStream(file), `--file ${file}`);
}

/**
 * A short form of an input for the report (bounded; made printable where it is printed). Total: an
 * element nested 5,000 deep, which `JSON.stringify` and `String` both overflow on, is previewed
 * like any other.
 */
function preview(value: unknown): string {
  return typeof value === 'string' ? previewSessionId(value) : displayText(value, 80);
}

/** Parses a duration flag; a bad value is a usage error (exit 2) naming the flag and the value. */
export function parseDurationOption(value: string, flag: string, bounds?: { minMs?: number; maxMs?: number }): number {
  try {
    return parseDuration(value, flag, bounds);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.USAGE);
  }
}

function printEnqueueReport(r: { accepted: number; duplicates: number; invalidCount: number; invalid: InvalidInput[] }): void {
  printOut(`accepted ${r.accepted}, duplicate ${r.duplicates}, invalid ${r.invalidCount}\n`);
  for (const i of r.invalid.slice(0, MAX_INVALID_PRINTED)) printErr(`invalid ${printable(i.where)}: ${printable(i.input)} — ${printable(i.reason)}\n`);
  if (r.invalidCount > MAX_INVALID_PRINTED) printErr(`... and ${r.invalidCount - MAX_INVALID_PRINTED} more invalid inputs (--json lists up to ${MAX_INVALID_KEPT})\n`);
}
