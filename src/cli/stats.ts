import { hostname } from 'node:os';
import type { Command } from 'commander';
import { REDIS_SETTINGS } from '../config/index.js';
import { describeWindow, HEARTBEAT_INTERVAL_MS, type WorkerStatus } from '../ops/liveness.js';
import { gatherOpsSnapshot } from '../ops/snapshot.js';
import { keyPrefix } from '../shared/names.js';
import { printable } from '../shared/printable.js';
import { createQueues, type QueueStats } from '../shared/queues.js';
import { createSweepQueues, type SweepSchedule } from '../sweep/scheduler.js';
import type { LimiterState } from '../worker/limiter-state.js';
import type { LeaseCounts } from '../leases/lease-store.js';
import { accountOption, action, addAccountOption, addConfigOptions, CliError, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { printJson, printOut } from './toolkit/output.js';
import { formatSchedules } from './toolkit/schedules.js';
import { formatAge } from './toolkit/table.js';
import { formatSlots, gatherSlots } from './toolkit/slots-report.js';
import type { SlotsReport } from '../ops/slots.js';
import type { AccountView } from '../ops/accounts.js';
import { BbReaperError } from '../shared/errors.js';

/** What `stats --json` prints: the ops snapshot `/api/stats` serves too (`src/ops/`), in the CLI's shape. */
export interface StatsReport {
  prefix: string;
  /** Close queue counts by state, and the number of dead letters. */
  queue: QueueStats;
  /** The global limiter's shared state; null when no worker ever ran under this prefix. */
  limiter: LimiterState | null;
  /** Worker processes that sent a heartbeat, most recent first; `alive` by the one liveness rule (heartbeat within 30 s). */
  workers: WorkerStatus[];
  /** Recurring orphan sweeps. */
  sweeps: SweepSchedule[];
  /** Leases: pending now (`active`, `due` past their deadline) and counts of events since the prefix was first used. */
  leases: LeaseCounts;
  /** Browser minutes closes saved: an upper bound (from each close to the session's expiresAt, sessions still running). */
  minutesSaved: number;
  /** Every account (configured, enqueued for, or served by a live worker), or the one `--account` names. */
  accounts: AccountView[];
  /** With `--slots` only: what `bb-reaper slots --json` prints (needs the API key). */
  slots?: SlotsReport;
}

export function register(program: Command): void {
  const cmd = program
    .command('stats')
    .summary('queue counts, limiter state and workers')
    .description('Show the close queue by state, dead letters, the global limiter (configured and current rate, pauses after 429s), worker heartbeats and recurring sweeps.')
    .option('--json', 'print one JSON object on stdout')
    .option('--slots', 'also show the project\'s concurrency slots, as `bb-reaper slots` does (calls the Browserbase API: needs BROWSERBASE_API_KEY)')
    .option('--healthcheck', `exit 1 unless a worker on this host (${hostname()}) sent a heartbeat within ${describeWindow()} (for container health checks)`);
  addAccountOption(addConfigOptions(cmd, [...REDIS_SETTINGS, 'prefix', 'apiKey', 'baseUrl', 'projectId']));
  cmd.action(
    action(async (opts: { json?: boolean; healthcheck?: boolean; slots?: boolean; account?: string }) => {
      // Without --slots, stats needs only Redis (and a health check never calls the API).
      const account = accountOption(opts);
      const config = loadConfig(opts, opts.slots && !opts.healthcheck ? ['apiKey'] : [], { keysFor: opts.slots && !opts.healthcheck ? [account] : [] });
      const redis = await connectRedis(config, 'cli-stats');
      const queues = createQueues({ connection: redis, prefix: keyPrefix(config) });
      const sweepQueues = createSweepQueues({ connection: redis, prefix: keyPrefix(config) });
      try {
        let s;
        try {
          s = await gatherOpsSnapshot({ redis, queues, sweepQueues, configuredAccounts: config.accounts.map((a) => a.name), ...(opts.account !== undefined ? { account } : {}) });
        } catch (err) {
          if (err instanceof BbReaperError && err.code === 'INVALID_OPTION') throw new CliError(`--account: ${err.message}`, EXIT.USAGE);
          throw err;
        }
        const report: StatsReport = { prefix: s.prefix, queue: s.queues, limiter: s.limiter, workers: s.workers, sweeps: s.sweeps, leases: s.leases, minutesSaved: round2(s.minutesSaved), accounts: s.accounts };
        if (opts.healthcheck) return checkHealth(report, opts.json);
        if (opts.slots) report.slots = await gatherSlots(config, { queues, account });
        if (opts.json) printJson(report);
        else printOut(formatStats(report, s.at) + (report.slots ? `\n${formatSlots(report.slots)}` : ''));
        return EXIT.OK;
      } finally {
        await sweepQueues.close();
        await queues.close();
        await closeRedis(redis);
      }
    }),
  );
}

function checkHealth(report: StatsReport, json?: boolean): number {
  const host = hostname();
  const mine = report.workers.filter((w) => w.id.startsWith(`${host}:`));
  const alive = mine.find((w) => w.alive);
  if (json) printJson({ healthy: Boolean(alive), host, workers: mine });
  if (!alive) {
    const last = mine[0];
    throw new CliError(
      `unhealthy: no worker on host ${host} sent a heartbeat within ${describeWindow()} (every ${HEARTBEAT_INTERVAL_MS / 1000} s expected)${last ? `; last seen ${formatAge(last.ageMs)} ago` : ''}`,
      EXIT.FAILURE,
    );
  }
  if (!json) printOut(`healthy: worker ${printable(alive.id)} seen ${formatAge(alive.ageMs)} ago\n`);
  return EXIT.OK;
}

/** The human form of `stats`; worker ids and sweep schedules are read from Redis, so made printable. */
export function formatStats(r: StatsReport, now = Date.now()): string {
  const q = r.queue;
  const lines = [
    `prefix        ${printable(r.prefix)}`,
    `close queue   waiting ${q.waiting}, active ${q.active}, delayed ${q.delayed}, failed ${q.failed}, completed ${q.completed}`,
    `dead letters  ${q.dead}${q.dead > 0 ? ' (bb-reaper dlq list)' : ''}`,
  ];
  const l = r.limiter;
  if (!l) lines.push('limiter       no worker has run under this prefix yet');
  else {
    const parts = [`${l.configuredRate} req/s configured`, `${round(l.effectiveRate)} req/s now`, `concurrency ${l.concurrency}`];
    if (l.pausedUntil > now) parts.push(`paused for ${formatAge(l.pausedUntil - now)} after a 429`);
    if (l.last429At > 0) parts.push(`last 429 ${formatAge(now - l.last429At)} ago (${l.rateLimitedTotal} in all)`);
    lines.push(`limiter       ${parts.join(', ')}`);
  }
  const alive = r.workers.filter((w) => w.alive);
  const stale = r.workers.length - alive.length;
  lines.push(
    `workers       ${alive.length} alive${alive.length ? `: ${alive.map((w) => `${printable(w.id)} (${formatAge(w.ageMs)} ago)`).join(', ')}` : ''}${stale ? `; ${stale} stale (no heartbeat within ${describeWindow()})` : ''}`,
  );
  const le = r.leases;
  lines.push(
    `leases        ${le.active} active${le.due > 0 ? ` (${le.due} past the deadline, waiting for a worker)` : ''}; ${le.fired} fired, ${le.released} released, ${le.cancelled} cancelled, ${le.renewed} renewals, ${le.created} created`,
    `saved         ${round(r.minutesSaved)} browser minutes at most (upper bound: from each close to the session's expiresAt)`,
  );
  for (const a of r.accounts) {
    const q = a.queue;
    const parts = [`waiting ${q.waiting}, active ${q.active}, delayed ${q.delayed}`, `dead ${a.deadLetters}`];
    const l = a.limiter;
    parts.push(l ? `${l.configuredRate} req/s (now ${round(l.effectiveRate)})${l.pausedUntil > now ? `, paused ${formatAge(l.pausedUntil - now)}` : ''}` : 'limiter not started');
    parts.push(`${a.workers} worker${a.workers === 1 ? '' : 's'}`);
    if (a.leases.active > 0) parts.push(`${a.leases.active} lease${a.leases.active === 1 ? '' : 's'}`);
    const warn = a.unserved ? `  ! no live worker serves this account: its closes wait (dead-lettered as UNKNOWN_ACCOUNT after the grace period)` : '';
    lines.push(`account       ${printable(a.name).padEnd(12)} ${parts.join(' · ')}${warn}`);
  }
  if (r.sweeps.length === 0) lines.push('sweeps        none scheduled');
  else for (const [i, s] of formatSchedules(r.sweeps, now).trimEnd().split('\n').entries()) lines.push(`${i === 0 ? 'sweeps        ' : '              '}${s}`);
  return `${lines.join('\n')}\n`;
}

const round = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
