import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { REDIS_SETTINGS } from '../config/index.js';
import { previewSessionId } from '../browserbase/session-id.js';
import { SourcedInput } from '../producer/close-request.js';
import { enqueueCloses } from '../producer/enqueue.js';
import { createProducer } from '../producer/producer.js';
import { keyPrefix } from '../shared/names.js';
import { printable } from '../shared/printable.js';
import { InputFormatError, readCloseInputs } from './toolkit/close-input.js';
import { followCloses, printWaitReport, warnIfNoWorker, type FollowReport } from './toolkit/follow.js';
import { action, addConfigOptions, checkedAccountOption, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { durationOption, usageError } from './toolkit/options.js';
import { printErr, printJson, printOut } from './toolkit/output.js';
import { createProgressReporter } from './toolkit/progress.js';
import { displayText } from './toolkit/table.js';

interface CloseOptions {
  file?: string;
  projectId?: string;
  account?: string;
  requestId?: string;
  wait?: boolean;
  /** ms, parsed by commander. */
  waitTimeout?: number;
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
    .option('--account <name>', 'account whose key closes them (see BB_REAPER_ACCOUNTS; default `default`)')
    .option('--wait', 'follow the closes until each is final, then print closed / already gone / dead-lettered')
    .addOption(durationOption('--wait-timeout <duration>', 'with --wait: give up after this long (e.g. 10m), exit 1'))
    .option('--json', 'print the report as JSON on stdout (progress lines on stderr are JSON too)');
  addConfigOptions(cmd, [...REDIS_SETTINGS, 'prefix']);
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
  if (ids.length === 0 && opts.file === undefined) throw usageError('nothing to close: give session ids, --file FILE, or `-` to read stdin (see --help)');
  if (stdinCount > 1) throw usageError('stdin (`-`) can be read only once');
  if (opts.waitTimeout !== undefined && !opts.wait) throw usageError('--wait-timeout needs --wait');
  checkedAccountOption(opts);
  if (opts.file !== undefined && opts.file !== '-') {
    const s = await stat(opts.file).catch((err: NodeJS.ErrnoException) => {
      throw usageError(`cannot read --file \`${opts.file}\`: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!s.isFile()) throw usageError(`cannot read --file \`${opts.file}\`: not a regular file`);
  }
  const config = loadConfig(opts);
  const redis = await connectRedis(config, 'cli-close');
  const producer = createProducer({ connection: redis, prefix: keyPrefix(config) });
  try {
    const progress = createProgressReporter({ label: 'enqueue', unit: 'read', json: opts.json });
    let report;
    try {
      // Every input goes to enqueueCloses with where it was: it validates each once and reports the invalid ones by place.
      report = await enqueueCloses<string>({ queues: producer.queues, redis }, inputsOf(ids, opts.file), {
        ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}),
        ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
        ...(opts.account !== undefined ? { account: opts.account } : {}),
        source: 'cli',
        collectJobIds: Boolean(opts.wait),
        maxInvalidReported: MAX_INVALID_KEPT,
        reportInputAs: preview, // a file of huge invalid elements is not kept in memory
        onProgress: (p) => progress.update(p.processed, { accepted: p.accepted, duplicates: p.duplicates, invalid: p.invalid }),
      });
    } catch (err) {
      if (err instanceof InputFormatError) throw usageError(`${err.message} (inputs before it were enqueued)`);
      throw err;
    } finally {
      progress.stop();
    }
    const invalid: InvalidInput[] = report.invalid.map((i) => ({ where: i.origin ?? '?', input: String(i.input), reason: i.reason }));
    const enqueued = { accepted: report.accepted, duplicates: report.duplicates, invalidCount: report.invalidCount, invalid };
    if (!opts.json) printEnqueueReport(enqueued);
    // A close for an account no worker serves is never dropped, but the caller should know it waits.
    if (!opts.json && !opts.wait && opts.account !== undefined && report.accepted > 0) await warnIfNoWorker(redis, keyPrefix(config), { accounts: [opts.account], accountsOnly: true });
    let waited: FollowReport | undefined;
    if (opts.wait) {
      waited = await followCloses({ queues: producer.queues, redis }, report.jobIds, { json: opts.json, timeoutMs: opts.waitTimeout, warnUnder: keyPrefix(config), ...(opts.account !== undefined ? { accounts: [opts.account] } : {}) });
      if (!opts.json) printWaitReport(waited);
    }
    if (opts.json) printJson({ ...enqueued, ...(waited ? { wait: waited } : {}) });
    if (waited?.aborted) return waited.timedOut ? EXIT.FAILURE : EXIT.INTERRUPTED;
    if (report.invalidCount > 0) return EXIT.USAGE;
    if (waited && waited.deadLettered > 0) return EXIT.DEAD_LETTERED;
    return EXIT.OK;
  } finally {
    await producer.close();
    await closeRedis(redis);
  }
}

/** The inputs, each with where it was (`argument 2`, `line 12`, `element 3`) and what the reader already found wrong with it. */
async function* inputsOf(ids: string[], file: string | undefined): AsyncGenerator<SourcedInput<string>> {
  const read = async function* (chunks: AsyncIterable<string | Uint8Array>, name: string) {
    for await (const item of readCloseInputs(chunks, name)) yield new SourcedInput(item.value, item.where, item.reason);
  };
  let n = 0;
  for (const id of ids) {
    n++;
    if (id === '-') yield* read(process.stdin, 'stdin');
    else yield new SourcedInput(id, `argument ${n}`);
  }
  if (file === '-') yield* read(process.stdin, 'stdin');
  else if (file !== undefined) yield* read(createReadStream(file), `--file ${file}`);
}

/**
 * A short form of an input for the report (bounded; made printable where it is printed). Total: an
 * element nested 5,000 deep, which `JSON.stringify` and `String` both overflow on, is previewed
 * like any other.
 */
function preview(value: unknown): string {
  return typeof value === 'string' ? previewSessionId(value) : displayText(value, 80);
}

function printEnqueueReport(r: { accepted: number; duplicates: number; invalidCount: number; invalid: InvalidInput[] }): void {
  printOut(`accepted ${r.accepted}, duplicate ${r.duplicates}, invalid ${r.invalidCount}\n`);
  for (const i of r.invalid.slice(0, MAX_INVALID_PRINTED)) printErr(`invalid ${printable(i.where)}: ${printable(i.input)} — ${printable(i.reason)}\n`);
  if (r.invalidCount > MAX_INVALID_PRINTED) printErr(`... and ${r.invalidCount - MAX_INVALID_PRINTED} more invalid inputs (--json lists up to ${MAX_INVALID_KEPT})\n`);
}
