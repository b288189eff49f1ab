import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { REDIS_SETTINGS } from '../config/index.js';
import { deadLetterFields } from '../dead-letters/describe.js';
import type { DeadLetterEntry } from '../dead-letters/store.js';
import { checkAccountName } from '../config/index.js';
import { countDeadLetters, deadLetterIdsOf, purgeLetters, readDeadLetterPage, redriveLetters, toLetterId } from '../ops/dead-letters.js';
import { accountOfJobId, keyPrefix } from '../shared/names.js';
import { formatEpochMs, printable } from '../shared/printable.js';
import { createQueues, type Queues } from '../shared/queues.js';
import type { Redis } from '../shared/redis.js';
import { followCloses, printWaitReport } from './toolkit/follow.js';
import { action, addConfigOptions, CliError, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { printErr, printJson, printOut } from './toolkit/output.js';
import { intOption } from './toolkit/options.js';
import { displayText, formatTable, truncate } from './toolkit/table.js';

/** Largest `--limit` of `dlq list`. */
export const MAX_LIST_LIMIT = 10_000;

/** One dead letter as `dlq list --json` prints it. */
export interface DeadLetterRow {
  id: string;
  state: string;
  sessionId: string;
  code: string;
  httpStatus: number | null;
  message: string;
  /** The account the letter's close was for (`default` when it named none). */
  account: string;
  /** Null when the letter (written by another producer) has no usable count. */
  attempts: number | null;
  /** ISO time, or `(not a time: ...)` when the letter's `deadLetteredAt` is not one. */
  deadLetteredAt: string;
}

const countOf = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A dead letter as a `dlq list --json` row: the values as stored (strings not escaped; JSON
 * output escapes them), numbers or null. Total: any producer can write a letter, and one with odd
 * data (a number as session id, a `deadLetteredAt` of 1e300) cannot break a listing. The table
 * for humans reads like everywhere else (`deadLetterFields`, `dead-letters/describe.ts`).
 */
export function toRow(e: DeadLetterEntry): DeadLetterRow {
  const d: Record<string, unknown> = e.data !== null && typeof e.data === 'object' ? (e.data as unknown as Record<string, unknown>) : {};
  return {
    id: displayText(e.id),
    state: displayText(e.state),
    sessionId: displayText(d.sessionId),
    code: displayText(d.errorCode),
    httpStatus: countOf(d.httpStatus),
    message: displayText(d.message),
    account: typeof d.account === 'string' ? displayText(d.account) : accountOfJobId(String(e.id)),
    attempts: countOf(d.attemptsMade),
    deadLetteredAt: formatEpochMs(d.deadLetteredAt),
  };
}

async function withQueues<T>(opts: Record<string, unknown>, fn: (q: Queues, redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const config = loadConfig(opts);
  const redis = await connectRedis(config, 'cli-dlq');
  const queues = createQueues({ connection: redis, prefix: keyPrefix(config) });
  try {
    return await fn(queues, redis, keyPrefix(config));
  } finally {
    await queues.close();
    await closeRedis(redis);
  }
}

export function register(program: Command): void {
  const dlq = program
    .command('dlq')
    .summary('inspect, re-drive and purge dead letters')
    .description('Inspect, re-drive and purge dead letters: closes that failed for good, with their provenance (error code, HTTP status, message, attempts).');

  const list = dlq
    .command('list')
    .description('List dead letters, newest first.')
    .addOption(intOption('--limit <n>', `how many to show (1-${MAX_LIST_LIMIT})`, { min: 1, max: MAX_LIST_LIMIT, default: 100 }))
    .addOption(intOption('--offset <n>', 'skip this many first', { min: 0, default: 0 }))
    .option('--account <name>', "only this account's dead letters")
    .option('--json', 'print a JSON array on stdout');
  addConfigOptions(list, [...REDIS_SETTINGS, 'prefix']);
  list.action(
    action(async (opts: { limit: number; offset: number; json?: boolean; account?: string }) => {
      const { limit, offset } = opts;
      const account = accountFilter(opts.account);
      return withQueues(opts, async (queues) => {
        const page = await readDeadLetterPage(queues, { start: offset, end: offset + limit - 1, ...(account !== undefined ? { account } : {}) });
        const rows = page.items.map(toRow);
        if (opts.json) {
          printJson(rows);
          return EXIT.OK;
        }
        if (rows.length === 0) {
          printOut('no dead letters\n');
          return EXIT.OK;
        }
        const orDash = (v: unknown) => (v === undefined ? '-' : String(v));
        printOut(
          formatTable(
            ['ID', 'ACCOUNT', 'SESSION', 'CODE', 'HTTP', 'ATTEMPTS', 'DEAD-LETTERED AT', 'MESSAGE'],
            page.items.map((e, i) => {
              const f = deadLetterFields(e.data);
              return [printable(e.id), printable(rows[i]?.account ?? ''), f.session ?? '', f.code ?? '', orDash(f.httpStatus), orDash(f.attempts), f.deadLettered ?? formatEpochMs(undefined), truncate(f.message ?? '', 80)];
            }),
          ),
        );
        if (page.total > offset + rows.length) printOut(`(${offset + rows.length} of ${page.total}; use --limit/--offset for more)\n`);
        return EXIT.OK;
      });
    }),
  );

  const retry = dlq
    .command('retry')
    .description('Re-drive dead letters: each close goes back on the close queue with fresh attempts (history kept). Works without a running worker.')
    .argument('[ids...]', 'dead-letter ids from `dlq list` (close-<session>) or session ids')
    .option('--all', 're-drive every dead letter')
    .option('--account <name>', "with --all: only this account's dead letters")
    .option('--wait', 'follow the re-driven closes until each is final')
    .option('--json', 'print the result as JSON on stdout');
  addConfigOptions(retry, [...REDIS_SETTINGS, 'prefix']);
  retry.addHelpText('after', '\nExit codes: 0 done; 2 some ids were not dead letters (the others were re-driven); 3 with --wait, some were dead-lettered again.');
  retry.action(
    action(async (ids: string[], opts: { all?: boolean; wait?: boolean; json?: boolean; account?: string }) => {
      if (opts.all && ids.length > 0) throw new CliError('give ids or --all, not both', EXIT.USAGE);
      const account = accountFilter(opts.account);
      if (account !== undefined && !opts.all) throw new CliError('--account goes with --all (ids name their account already)', EXIT.USAGE);
      if (!opts.all && ids.length === 0) throw new CliError('nothing to re-drive: give dead-letter ids (see `dlq list`) or --all', EXIT.USAGE);
      return withQueues(opts, async (queues, redis, prefix) => {
        const jobIds = ids.map(toLetterId);
        const r = await redriveLetters(queues, opts.all ? { all: true, ...(account !== undefined ? { account } : {}) } : { ids: jobIds });
        const missing = r.missing.map((m) => ids[jobIds.indexOf(m)] ?? m);
        if (!opts.json) {
          printOut(`re-drove ${r.redriven.length} dead letter${r.redriven.length === 1 ? '' : 's'}\n`);
          for (const m of missing) printErr(`not a dead letter: ${printable(m)}\n`);
          for (const h of r.held ?? []) printErr(`still being parked, left as it is (retry it in a moment): ${printable(h)}\n`);
        }
        let waited;
        if (opts.wait && r.redriven.length > 0) {
          waited = await followCloses({ queues, redis }, r.redriven, { json: opts.json, warnUnder: prefix });
          if (!opts.json) printWaitReport(waited);
        }
        if (opts.json) printJson({ redriven: r.redriven, missing, ...(r.held ? { held: r.held } : {}), ...(waited ? { wait: waited } : {}) });
        if (waited?.aborted) return EXIT.INTERRUPTED;
        if (missing.length > 0) return EXIT.USAGE;
        if (waited && waited.deadLettered > 0) return EXIT.DEAD_LETTERED;
        return EXIT.OK;
      });
    }),
  );

  const purge = dlq
    .command('purge')
    .description('Delete every dead letter for good. Asks for confirmation on a terminal; elsewhere needs --yes.')
    .option('-y, --yes', 'do not ask; required when stdin is not a terminal')
    .option('--account <name>', "only this account's dead letters")
    .option('--json', 'print {"purged": n} on stdout');
  addConfigOptions(purge, [...REDIS_SETTINGS, 'prefix']);
  purge.action(
    action(async (opts: { yes?: boolean; json?: boolean; account?: string }) => {
      const account = accountFilter(opts.account);
      const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
      if (!opts.yes && !interactive) throw new CliError('refusing to purge dead letters without --yes (stdin is not a terminal to ask on)', EXIT.USAGE);
      return withQueues(opts, async (queues, _redis, prefix) => {
        const count = account === undefined ? await countDeadLetters(queues) : (await deadLetterIdsOf(queues, account)).length;
        if (count === 0) {
          if (opts.json) printJson({ purged: 0 });
          else printOut('no dead letters\n');
          return EXIT.OK;
        }
        if (!opts.yes) {
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question(`Delete ${count} dead letter${count === 1 ? '' : 's'}${account !== undefined ? ` of the account ${account}` : ''} under prefix \`${prefix}\` for good? Type "yes" to confirm: `);
          rl.close();
          if (answer.trim().toLowerCase() !== 'yes') {
            printErr('not purged\n');
            return EXIT.FAILURE;
          }
        }
        const purged = await purgeLetters(queues, account !== undefined ? { account } : {});
        if (opts.json) printJson({ purged });
        else printOut(`purged ${purged} dead letter${purged === 1 ? '' : 's'}\n`);
        return EXIT.OK;
      });
    }),
  );
}

/** `--account` of the dlq commands: a valid name, or undefined when not given. */
function accountFilter(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const checked = checkAccountName(name);
  if (!checked.ok) throw new CliError(`--account: ${checked.reason}`, EXIT.USAGE);
  return name;
}
