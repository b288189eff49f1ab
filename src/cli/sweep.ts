import { Option, type Command } from 'commander';
import { BrowserbaseError } from '../browserbase/index.js';
import { REDIS_SETTINGS, type Config } from '../config/index.js';
import { DEFAULT_ACCOUNT, keyPrefix } from '../shared/names.js';
import { printable } from '../shared/printable.js';
import { createQueues } from '../shared/queues.js';
import { formatDuration } from '../shared/duration.js';
import type { SweepParams } from '../sweep/find-orphans.js';
import { runSweep, type SweepReport } from '../sweep/run-sweep.js';
import {
  createSweepQueues,
  DEFAULT_SCHEDULE_NAME,
  listAccountsSweepSchedules,
  MIN_SWEEP_EVERY_MS,
  type SweepQueues,
  removeSweepSchedule,
  SCHEDULE_NAME_PATTERN,
  upsertSweepSchedule,
} from '../sweep/scheduler.js';
import { noteAccountUsed } from '../shared/account-registry.js';
import { chooseAccounts, knownAccountNames } from '../ops/accounts.js';
import { BbReaperError } from '../shared/errors.js';
import { followCloses, printWaitReport, warnIfNoWorker, type FollowReport } from './toolkit/follow.js';
import { accountOption, action, addAccountOption, addConfigOptions, CliError, loadConfig } from './toolkit/command.js';
import { clientFor } from './toolkit/api-client.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { durationOption, InvalidArgumentError, usageError } from './toolkit/options.js';
import { printErr, printJson, printOut } from './toolkit/output.js';
import { createProgressReporter } from './toolkit/progress.js';
import { describeSweepParams, formatSchedules } from './toolkit/schedules.js';
import { compactJson, formatAge, formatTable, truncate } from './toolkit/table.js';

interface SweepOptions {
  /** ms, checked by its option. */
  olderThan?: number;
  q?: string;
  includeKeepAlive?: boolean;
  dryRun?: boolean;
  /** ms, checked by its option. */
  every?: number;
  stop?: boolean;
  list?: boolean;
  name: string;
  wait?: boolean;
  json?: boolean;
  account?: string;
  allAccounts?: boolean;
  [key: string]: unknown;
}

/** Orphans listed in human output (all are in `--json`). */
const MAX_ROWS_PRINTED = 50;

export function register(program: Command): void {
  const cmd = program
    .command('sweep')
    .summary('close orphaned sessions: once, or on a schedule')
    .description(
      'Find orphaned sessions (RUNNING or PENDING for longer than --older-than, optionally matching a ' +
        'user-metadata query) and enqueue their closes. keepAlive sessions are skipped unless ' +
        '--include-keep-alive. With --every, registers a recurring sweep that `bb-reaper worker` ' +
        'processes run (the schedule holds the parameters, never the API key); --stop removes it.',
    )
    .addOption(durationOption('--older-than <duration>', 'minimum age of an orphan, e.g. 90s, 10m, 2h, 1h30m', { minMs: 1000 }))
    .option('--q <query>', "only sessions matching this user-metadata query, e.g. \"user_metadata['owner']:'ci'\"")
    .option('--include-keep-alive', 'also close keepAlive sessions')
    .option('--dry-run', 'list what would be closed, enqueue nothing')
    .option('--wait', 'follow the enqueued closes until each is final')
    .addOption(durationOption('--every <duration>', `register a recurring sweep run by the workers (at least ${formatDuration(MIN_SWEEP_EVERY_MS)})`, { minMs: MIN_SWEEP_EVERY_MS }))
    .option('--stop', 'remove the recurring sweep')
    .option('--list', 'list recurring sweeps')
    .addOption(new Option('--name <name>', 'name of the recurring sweep (several can coexist)').argParser(parseScheduleName).default(DEFAULT_SCHEDULE_NAME))
    .option('--json', 'print the report as JSON on stdout')
    .option('--all-accounts', 'sweep every account of the accounts file, each with its own key (one report per account); with --every / --stop, register or remove the schedule of each');
  addAccountOption(addConfigOptions(cmd, [...REDIS_SETTINGS, 'prefix', 'apiKey', 'baseUrl', 'projectId']));
  cmd.addHelpText(
    'after',
    `
Examples:
  bb-reaper sweep --older-than 30m --dry-run
  bb-reaper sweep --older-than 2h --q "user_metadata['env']:'ci'" --wait
  bb-reaper sweep --older-than 30m --every 5m      # workers sweep every 5 minutes
  bb-reaper sweep --stop
  bb-reaper sweep --older-than 30m --all-accounts  # every account, each with its own key
  bb-reaper sweep --older-than 30m --every 5m --account prod   # prod's workers sweep prod
  bb-reaper sweep --list                           # every account's recurring sweeps

A sweep that runs now needs BROWSERBASE_API_KEY; --every, --stop and --list only need Redis.
Exit codes: 0 done; 1 runtime failure; 2 invalid usage (or a query the API rejected);
3 with --wait, some closes were dead-lettered.`,
  );
  cmd.action(action(async (opts: SweepOptions) => runSweepCommand(opts)));
}

async function runSweepCommand(opts: SweepOptions): Promise<number> {
  const modes = [opts.every !== undefined, Boolean(opts.stop), Boolean(opts.list)].filter(Boolean).length;
  if (modes > 1) throw usageError('use one of --every, --stop, --list');
  if (opts.stop || opts.list) {
    const extra = (['olderThan', 'q', 'includeKeepAlive', 'dryRun', 'wait'] as const).filter((k) => opts[k] !== undefined);
    if (extra.length > 0) throw usageError(`--${opts.stop ? 'stop' : 'list'} takes no sweep parameters (got ${extra.map(flagOf).join(', ')})`);
    if (opts.allAccounts && opts.account !== undefined) throw usageError('use --account or --all-accounts, not both');
    if (opts.list && opts.allAccounts) throw usageError('--list shows every account\'s recurring sweeps already (--account NAME for one)');
    const config = loadConfig(opts);
    return opts.stop ? stopSchedule(config, opts) : listSchedules(config, opts);
  }
  if (opts.olderThan === undefined) throw usageError('--older-than is required, e.g. --older-than 10m');
  const params: SweepParams = {
    olderThanMs: opts.olderThan,
    ...(opts.q !== undefined ? { q: checkQuery(opts.q) } : {}),
    ...(opts.includeKeepAlive ? { includeKeepAlive: true } : {}),
  };
  if (opts.allAccounts && opts.account !== undefined) throw usageError('use --account or --all-accounts, not both');
  if (opts.every !== undefined) {
    if (opts.dryRun || opts.wait) throw usageError(`--every cannot be combined with ${opts.dryRun ? '--dry-run' : '--wait'}`);
    return registerSchedule(loadConfig(opts), opts, opts.every, params);
  }
  if (opts.dryRun && opts.wait) throw usageError('--wait cannot be combined with --dry-run');
  if (opts.allAccounts) return sweepAllAccounts(opts, params);
  return sweepNow(loadConfig(opts, ['apiKey'], { keysFor: [accountOption(opts)] }), opts, params);
}

/**
 * One sweep per account of the accounts file, one after another, each listing and closing with
 * that account's key. An account that fails (a refused key, the API down) is reported and the
 * others still run; the exit code is the worst of them (1 when any failed).
 */
async function sweepAllAccounts(opts: SweepOptions, params: SweepParams): Promise<number> {
  const config = loadConfig(opts, ['apiKey']);
  const results: Array<Record<string, unknown>> = [];
  let worst: number = EXIT.OK;
  for (const { name } of config.accounts) {
    if (!opts.json) printOut(`== account ${printable(name)} ==\n`);
    try {
      const code = await sweepNow(config, opts, params, name, opts.json ? (out) => results.push({ account: name, ...out }) : undefined);
      if (opts.json && code !== EXIT.OK && results.at(-1)?.account !== name) results.push({ account: name, exitCode: code });
      worst = Math.max(worst, code);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      printErr(`bb-reaper: account ${printable(name)}: sweep failed: ${message}\n`);
      if (opts.json) results.push({ account: name, error: { ...(err instanceof BrowserbaseError ? { code: err.code, httpStatus: err.statusCode } : {}), message } });
      worst = Math.max(worst, err instanceof CliError ? err.exitCode : EXIT.FAILURE);
    }
  }
  if (opts.json) printJson({ accounts: results });
  return worst;
}

const flagOf = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function checkQuery(q: string): string {
  if (q.trim() === '' || q.length > 1024) throw new InvalidArgumentError(`Expected \`--q\` to be a non-empty query of at most 1024 characters, got \`${truncate(q, 60)}\``);
  return q;
}

function parseScheduleName(name: string): string {
  if (!SCHEDULE_NAME_PATTERN.test(name)) throw new InvalidArgumentError(`Expected \`--name\` to be 1-64 letters, digits, \`_ . -\`, got \`${name}\``);
  return name;
}

async function sweepNow(config: Config, opts: SweepOptions, params: SweepParams, account = accountOption(opts), collect?: (out: Record<string, unknown>) => void): Promise<number> {
  const client = clientFor(config, account);
  const redis = opts.dryRun ? undefined : await connectRedis(config, 'cli-sweep').catch(async (err: unknown) => {
    await client.close();
    throw err;
  });
  const queues = redis ? createQueues({ connection: redis, prefix: keyPrefix(config) }) : undefined;
  const progress = createProgressReporter({ label: 'sweep', json: opts.json });
  try {
    let report: SweepReport;
    try {
      report = await runSweep({
        client,
        ...(queues && redis ? { target: { queues, redis } } : {}),
        params,
        account,
        dryRun: Boolean(opts.dryRun),
        onProgress: (done, total) => {
          progress.setTotal(total);
          progress.update(done);
        },
      });
    } catch (err) {
      if (err instanceof BrowserbaseError && err.code === 'REJECTED' && err.statusCode === 400 && params.q) {
        throw new CliError(`the API rejected the query --q \`${params.q}\`: ${err.serverMessage ?? err.message}`, EXIT.USAGE);
      }
      throw err;
    } finally {
      progress.stop();
    }
    let waited: FollowReport | undefined;
    if (!opts.json) printSweepReport(report, params);
    if (opts.wait && queues && redis && report.enqueued && report.enqueued.jobIds.length > 0) {
      waited = await followCloses({ queues, redis }, report.enqueued.jobIds, { json: opts.json, warnUnder: keyPrefix(config), accounts: [account] });
      if (!opts.json) printWaitReport(waited);
    }
    if (opts.json) {
      const { enqueued, ...rest } = report;
      const out = { ...rest, params, ...(enqueued ? { enqueued: { accepted: enqueued.accepted, duplicates: enqueued.duplicates, invalid: enqueued.invalid } } : {}), ...(waited ? { wait: waited } : {}) };
      if (collect) collect(out);
      else printJson(out);
    }
    if (waited?.aborted) return waited.timedOut ? EXIT.FAILURE : EXIT.INTERRUPTED;
    if (waited && waited.deadLettered > 0) return EXIT.DEAD_LETTERED;
    return EXIT.OK;
  } finally {
    await queues?.close();
    if (redis) await closeRedis(redis);
    await client.close();
  }
}

function printSweepReport(r: SweepReport, params: SweepParams): void {
  const skipped = [`${r.skippedYoung} younger`, `${r.skippedKeepAlive} keepAlive`, ...(r.skippedUnknownAge ? [`${r.skippedUnknownAge} without a start time`] : [])];
  printOut(`found ${r.orphans.length} orphan${r.orphans.length === 1 ? '' : 's'} among ${r.scanned} active sessions (${describeSweepParams(params)}); skipped ${skipped.join(', ')}\n`);
  if (r.orphans.length > 0) {
    printOut(
      formatTable(
        ['SESSION', 'STATUS', 'AGE', 'REGION', 'KEEPALIVE', 'METADATA'],
        r.orphans.slice(0, MAX_ROWS_PRINTED).map((o) => [o.id, o.status, formatAge(o.ageMs), o.region, o.keepAlive ? 'yes' : 'no', o.userMetadata ? compactJson(o.userMetadata, 60) : '-']),
      ),
    );
    if (r.orphans.length > MAX_ROWS_PRINTED) printOut(`... and ${r.orphans.length - MAX_ROWS_PRINTED} more (--json lists all)\n`);
  }
  if (r.dryRun) printOut('dry run: nothing enqueued\n');
  else if (r.enqueued) printOut(`enqueued closes: accepted ${r.enqueued.accepted}, duplicate ${r.enqueued.duplicates}${r.enqueued.invalid ? `, invalid ${r.enqueued.invalid}` : ''}\n`);
}

/** The accounts `--account` / `--all-accounts` name for a schedule: one, or every account of the accounts file. */
function scheduleAccounts(config: Config, opts: SweepOptions): string[] {
  return opts.allAccounts ? config.accounts.map((a) => a.name) : [accountOption(opts)];
}

/** ` of account \`prod\`` in a schedule message; nothing for `default` when no account was asked for. */
const ofAccount = (account: string, opts: SweepOptions) => (account === DEFAULT_ACCOUNT && !opts.allAccounts ? '' : ` of account \`${printable(account)}\``);

async function withSweepQueues<T>(config: Config, fn: (q: SweepQueues, redis: Awaited<ReturnType<typeof connectRedis>>) => Promise<T>): Promise<T> {
  const redis = await connectRedis(config, 'cli-sweep');
  const queues = createSweepQueues({ connection: redis, prefix: keyPrefix(config) });
  try {
    return await fn(queues, redis);
  } finally {
    await queues.close();
    await closeRedis(redis);
  }
}

/**
 * Registers the recurring sweep in the sweep queue of each account named: the workers that serve
 * that account (and hold its key) run it and enqueue the closes for it.
 */
async function registerSchedule(config: Config, opts: SweepOptions, everyMs: number, params: SweepParams): Promise<number> {
  return withSweepQueues(config, async (queues, redis) => {
    const accounts = scheduleAccounts(config, opts);
    const registered = [];
    for (const account of accounts) {
      registered.push(await upsertSweepSchedule(queues.for(account), { name: opts.name, everyMs, params }));
      await noteAccountUsed(redis, keyPrefix(config), account);
    }
    if (opts.json) printJson(opts.allAccounts ? { registered } : { registered: registered[0] });
    else {
      for (const schedule of registered) {
        printOut(`registered recurring sweep \`${printable(schedule.name)}\`${ofAccount(schedule.account, opts)}: every ${formatDuration(everyMs)}, ${describeSweepParams(params)} (prefix \`${printable(keyPrefix(config))}\`)\n`);
      }
      const stop = `bb-reaper sweep --stop${opts.name === DEFAULT_SCHEDULE_NAME ? '' : ` --name ${opts.name}`}${opts.allAccounts ? ' --all-accounts' : opts.account !== undefined ? ` --account ${opts.account}` : ''}`;
      printOut(`the first sweep runs now; \`bb-reaper worker\` processes serving the account run them (they hold its API key); remove with \`${stop}\`\n`);
      await warnIfNoWorker(redis, keyPrefix(config), { accounts });
    }
    return EXIT.OK;
  });
}

async function stopSchedule(config: Config, opts: SweepOptions): Promise<number> {
  return withSweepQueues(config, async (queues) => {
    const accounts = scheduleAccounts(config, opts);
    const outcomes: Array<{ account: string; removed: boolean }> = [];
    for (const account of accounts) outcomes.push({ account, removed: await removeSweepSchedule(queues.for(account), opts.name) });
    if (opts.json) printJson(opts.allAccounts ? { name: opts.name, accounts: outcomes } : { removed: outcomes[0]?.removed ?? false, name: opts.name, account: accounts[0] });
    else {
      for (const { account, removed } of outcomes) printOut(`${removed ? 'removed recurring sweep' : 'no recurring sweep named'} \`${opts.name}\`${ofAccount(account, opts)}\n`);
    }
    return EXIT.OK;
  });
}

async function listSchedules(config: Config, opts: SweepOptions): Promise<number> {
  return withSweepQueues(config, async (queues, redis) => {
    const names = await knownAccountNames({ redis, prefix: keyPrefix(config), configured: config.accounts.map((a) => a.name) });
    let chosen: string[];
    try {
      chosen = chooseAccounts(names, opts.account);
    } catch (err) {
      if (err instanceof BbReaperError && err.code === 'INVALID_OPTION') throw usageError(`--account: ${err.message}`);
      throw err;
    }
    const schedules = await listAccountsSweepSchedules(queues, chosen);
    if (opts.json) printJson(schedules);
    else printOut(schedules.length === 0 ? 'no recurring sweeps\n' : formatSchedules(schedules));
    return EXIT.OK;
  });
}
