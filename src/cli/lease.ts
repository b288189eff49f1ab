import { keyPrefix } from '../shared/names.js';
import type { Command } from 'commander';
import { previewSessionId } from '../browserbase/session-id.js';
import { LEASE_LIMITS, LeaseError, parseLeaseTtl } from '../leases/lease-options.js';
import { validateSessionId } from '../browserbase/index.js';
import { acquireLeases, endLeases, type LeaseInfo, type LeaseOutcome } from '../leases/lease-store.js';
import { readLeasePage } from '../ops/accounts.js';
import { noteAccountUsed } from '../shared/account-registry.js';
import { BbReaperError } from '../shared/errors.js';
import { formatDuration } from '../shared/duration.js';
import { printable } from '../shared/printable.js';
import { createQueues } from '../shared/queues.js';
import { action, addConfigOptions, checkedAccountOption, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { warnIfNoWorker } from './toolkit/follow.js';
import { describeLeaseOutcome, inSeconds, isLeaseFailure, type LeaseAction } from './toolkit/leases.js';
import { intOption, usageError } from './toolkit/options.js';
import { printErr, printJson, printOut } from './toolkit/output.js';
import { formatTable } from './toolkit/table.js';

interface LeaseFlags {
  ttl?: string;
  cancel?: boolean;
  release?: boolean;
  list?: boolean;
  limit: number;
  offset: number;
  requestId?: string;
  projectId?: string;
  account?: string;
  json?: boolean;
  [key: string]: unknown;
}

/** Largest `--limit` of `lease --list`. */
export const MAX_LEASE_LIST = 10_000;

export function register(program: Command): void {
  const cmd = program
    .command('lease')
    .summary('close sessions at a deadline unless renewed')
    .description(
      `Lease sessions: "close this session in --ttl unless I renew". \`lease <id...> --ttl 10m\` creates the lease, or renews a pending one to 10m from now; ` +
        `the workers close the session at the deadline through the normal close path. --release closes now, --cancel forgets the lease (nothing closes), ` +
        `--list shows pending leases. A TTL is ${formatDuration(LEASE_LIMITS.minTtlMs)} to ${formatDuration(LEASE_LIMITS.maxTtlMs)}.`,
    )
    .argument('[ids...]', 'session ids')
    .option('--ttl <duration>', `close this long from now unless renewed (${formatDuration(LEASE_LIMITS.minTtlMs)} to ${formatDuration(LEASE_LIMITS.maxTtlMs)}, e.g. 90s, 10m, 1h30m)`)
    .option('--release', 'close the leased sessions now (once), through the queue')
    .option('--cancel', 'forget the leases: the sessions are not closed by them')
    .option('--list', 'list pending leases, soonest deadline first')
    .addOption(intOption('--limit <n>', 'with --list: at most this many', { min: 1, max: MAX_LEASE_LIST, default: 100 }))
    .addOption(intOption('--offset <n>', 'with --list: skip this many', { min: 0, default: 0 }))
    .option('--request-id <id>', 'requestId recorded with each new lease\'s close (echoed in the results stream)')
    .option('--project-id <id>', 'projectId sent with each new lease\'s close')
    .option('--account <name>', 'the account whose key closes the sessions (see BB_REAPER_ACCOUNTS; default `default`); with --list, only its leases (default: every account\'s)')
    .option('--json', 'print the outcome as JSON on stdout');
  addConfigOptions(cmd, ['redisUrl', 'prefix']);
  cmd.addHelpText(
    'after',
    `
Examples:
  bb-reaper lease 4f1c2d... --ttl 10m          # create, or renew to 10m from now
  bb-reaper lease --release 4f1c2d...          # done early: close now
  bb-reaper lease --cancel 4f1c2d...           # handed over: never close it by this lease
  bb-reaper lease 9a8b7c... --ttl 15m --account prod   # closed with prod's key
  bb-reaper lease --list                       # every account's; --account prod for one

Exit codes: 0 done (also for a session whose close is already pending: nothing changed);
1 a lease had already fired or ended (renewing or cancelling it changed nothing), or there is
no lease to release or cancel; 2 invalid usage or input (valid ids were still handled).`,
  );
  cmd.action(action(async (ids: string[], opts: LeaseFlags) => runLease(ids, opts)));
}

async function runLease(ids: string[], opts: LeaseFlags): Promise<number> {
  if (opts.list) {
    if (ids.length > 0 || opts.release || opts.cancel || opts.ttl !== undefined) throw usageError('--list takes no ids, --ttl, --release or --cancel');
  } else {
    if (opts.release && opts.cancel) throw usageError('give one of --release and --cancel');
    if ((opts.release || opts.cancel) && opts.ttl !== undefined) throw usageError(`--ttl does not go with ${opts.release ? '--release' : '--cancel'}`);
    if (!opts.release && !opts.cancel && opts.ttl === undefined) throw usageError('give --ttl <duration> to create or renew leases (or --release, --cancel, --list; see --help)');
    if (ids.length === 0) throw usageError('nothing to lease: give session ids (see --help)');
    if (opts.limit !== 100 || opts.offset !== 0) throw usageError('--limit and --offset go with --list');
  }
  const account = checkedAccountOption(opts);
  let ttlMs: number | undefined;
  if (opts.ttl !== undefined) {
    try {
      ttlMs = parseLeaseTtl(opts.ttl, '--ttl');
    } catch (err) {
      if (err instanceof LeaseError) throw usageError(err.message);
      throw err;
    }
  }
  const config = loadConfig(opts);
  const redis = await connectRedis(config, 'cli-lease');
  const queues = createQueues({ connection: redis, prefix: keyPrefix(config) });
  const target = { queue: queues.closeQueueFor(account), redis };
  try {
    if (opts.list) {
      try {
        const page = await readLeasePage({ redis, queues, configured: config.accounts.map((a) => a.name), offset: opts.offset, limit: opts.limit, ...(opts.account !== undefined ? { account } : {}) });
        return printList(page, opts.json);
      } catch (err) {
        if (err instanceof BbReaperError && err.code === 'INVALID_OPTION') throw usageError(`--account: ${err.message}`);
        throw err;
      }
    }
    const action: LeaseAction = opts.release ? 'release' : opts.cancel ? 'cancel' : 'set';
    const invalid: Array<{ input: string; reason: string }> = [];
    const valid: string[] = [];
    for (const id of ids) {
      const problem = validateSessionId(id);
      if (problem === undefined) valid.push(id);
      else invalid.push({ input: id, reason: `invalid session id: ${problem}` });
    }
    let outcomes: LeaseOutcome[];
    if (action === 'set') {
      const r = await acquireLeases(target, valid, ttlMs as number, {
        source: 'cli',
        ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
        ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}),
      });
      outcomes = r.outcomes;
      for (const i of r.invalid) invalid.push({ input: String(i.input), reason: i.reason });
      if (outcomes.some((o) => o.status === 'created')) await noteAccountUsed(redis, queues.prefix, account);
    } else {
      outcomes = await endLeases(target, action, valid);
    }
    const failed = outcomes.filter((o) => isLeaseFailure(action, o));
    if (opts.json) printJson({ outcomes, invalid, failed: failed.length });
    else {
      const now = Date.now();
      for (const o of outcomes) (isLeaseFailure(action, o) ? printErr : printOut)(`${describeLeaseOutcome(o, now)}\n`);
      for (const i of invalid) printErr(`invalid ${printable(previewSessionId(i.input))} — ${printable(i.reason)}\n`);
      if (outcomes.some((o) => o.status === 'created' || o.status === 'renewed' || o.status === 'released')) await warnIfNoWorker(redis, keyPrefix(config), { accounts: [account] });
    }
    if (invalid.length > 0) return EXIT.USAGE;
    if (failed.length > 0) return EXIT.FAILURE;
    return EXIT.OK;
  } finally {
    await queues.close();
    await closeRedis(redis);
  }
}

function printList(page: { total: number; leases: LeaseInfo[] }, json?: boolean): number {
  const now = Date.now();
  if (json) {
    printJson({ at: now, ...page });
    return EXIT.OK;
  }
  printOut(`${page.total} pending lease${page.total === 1 ? '' : 's'}${page.leases.length < page.total ? ` (showing ${page.leases.length})` : ''}\n`);
  if (page.leases.length > 0) {
    printOut(
      formatTable(
        ['SESSION', 'ACCOUNT', 'EXPIRES IN', 'EXPIRES AT', 'RENEWALS', 'REQUEST ID'],
        page.leases.map((l) => [
          l.sessionId,
          l.account,
          l.expiresAt > now ? inSeconds(l.expiresAt - now) : `due ${inSeconds(now - l.expiresAt)} ago: waiting for a worker`,
          new Date(l.expiresAt).toISOString(),
          String(l.renewals),
          l.requestId ?? '-',
        ]),
      ),
    );
  }
  return EXIT.OK;
}
