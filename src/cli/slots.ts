import type { Command } from 'commander';
import { createBrowserbaseClient } from '../browserbase/index.js';
import type { Config } from '../config/index.js';
import { DEFAULT_OLDEST_LIMIT, readSlots, type SlotsReport } from '../ops/slots.js';
import { printable } from '../shared/printable.js';
import { createQueues, type Queues } from '../shared/queues.js';
import type { Redis } from '../shared/redis.js';
import { toCliError } from './sessions.js';
import { action, addConfigOptions, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { intOption } from './toolkit/options.js';
import { printJson, printOut } from './toolkit/output.js';
import { compactJson, displayText, formatAge, formatTable } from './toolkit/table.js';

/** Most sessions `--limit` shows. */
export const MAX_SLOTS_LIMIT = 1000;

export function register(program: Command): void {
  const cmd = program
    .command('slots')
    .summary('project concurrency, sessions holding slots, pending closes')
    .description(
      "The screen before a sweep (needs BROWSERBASE_API_KEY and Redis): the project's concurrency, how many sessions are RUNNING/PENDING now and how many slots are free, the oldest active sessions with their age and user metadata, and how many closes are still queued. The project is BROWSERBASE_PROJECT_ID when set, else the key's first project.",
    )
    .addOption(intOption('--limit <n>', 'how many of the oldest sessions to show', { min: 1, max: MAX_SLOTS_LIMIT, default: DEFAULT_OLDEST_LIMIT }))
    .option('--json', 'print one JSON object on stdout');
  addConfigOptions(cmd, ['apiKey', 'baseUrl', 'projectId', 'redisUrl', 'prefix']);
  cmd.action(
    action(async (opts: Record<string, unknown> & { json?: boolean; limit: number }) => {
      const config = loadConfig(opts, ['apiKey']);
      const report = await gatherSlots(config, { limit: opts.limit });
      if (opts.json) printJson(report);
      else printOut(formatSlots(report));
      return EXIT.OK;
    }),
  );
}

/**
 * Reads the slots report with a client of its own, on `queues` when given (`stats --slots` passes
 * its own), else on a Redis connection of its own; API errors become CLI errors.
 */
export async function gatherSlots(config: Config, { limit = DEFAULT_OLDEST_LIMIT, queues: given }: { limit?: number; queues?: Queues } = {}): Promise<SlotsReport> {
  const redis = given ? undefined : await connectRedis(config, 'cli-slots');
  const queues = given ?? createQueues({ connection: redis as Redis, prefix: config.prefix });
  const client = createBrowserbaseClient({ apiKey: config.apiKey as string, baseUrl: config.baseUrl, ...(config.projectId ? { projectId: config.projectId } : {}) });
  try {
    return await readSlots({ client, queues, limit, ...(config.projectId ? { projectId: config.projectId } : {}) });
  } catch (err) {
    throw toCliError(err);
  } finally {
    await client.close();
    if (redis) {
      await queues.close();
      await closeRedis(redis);
    }
  }
}

/** The human form of a slots report; ids, statuses and metadata come from the API, so each is made printable. */
export function formatSlots(r: SlotsReport): string {
  const inUse = r.active.running + r.active.pending;
  const lines = [
    r.project ? `project        ${printable(displayText(r.project.id))}, concurrency ${r.project.concurrency}` : 'project        none listed for this key',
    `slots          ${inUse} in use (${r.active.running} running, ${r.active.pending} pending)${r.free === null ? '' : `, ${r.free} free`}`,
    `pending closes ${r.pendingCloses}${r.pendingCloses > 0 ? ' (queued, not yet done)' : ''}`,
  ];
  if (r.oldest.length === 0) return `${lines.join('\n')}\n`;
  const table = formatTable(
    ['SESSION', 'STATUS', 'AGE', 'STARTED AT', 'METADATA'],
    r.oldest.map((s) => [displayText(s.id), displayText(s.status), s.ageMs === null ? '-' : formatAge(s.ageMs), displayText(s.startedAt) || '-', s.userMetadata ? compactJson(s.userMetadata, 60) : '-']),
  );
  const shown = r.oldest.length < inUse ? `oldest ${r.oldest.length} of ${inUse}:` : 'oldest first:';
  return `${lines.join('\n')}\n${shown}\n${table}`;
}
