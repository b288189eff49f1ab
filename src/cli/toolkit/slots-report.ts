import { findAccount } from '../../config/index.js';
import { DEFAULT_ACCOUNT } from '../../shared/names.js';
/**
 * The slots report as the CLI reads and prints it: shared by `slots` and `stats --slots`.
 */
import type { Config } from '../../config/index.js';
import { DEFAULT_OLDEST_LIMIT, readSlots, type SlotsReport } from '../../ops/slots.js';
import { keyPrefix } from '../../shared/names.js';
import { printable } from '../../shared/printable.js';
import { createQueues, type Queues } from '../../shared/queues.js';
import type { Redis } from '../../shared/redis.js';
import { clientFor, toCliError } from './api-client.js';
import { closeRedis, connectRedis } from './connect.js';
import { compactJson, displayText, formatAge, formatTable } from './table.js';

/**
 * Reads the slots report with a client of its own, on `queues` when given (`stats --slots` passes
 * its own), else on a Redis connection of its own; API errors become CLI errors.
 */
export async function gatherSlots(config: Config, { limit = DEFAULT_OLDEST_LIMIT, queues: given, account = DEFAULT_ACCOUNT }: { limit?: number; queues?: Queues; account?: string } = {}): Promise<SlotsReport> {
  const redis = given ? undefined : await connectRedis(config, 'cli-slots');
  const queues = given ?? createQueues({ connection: redis as Redis, prefix: keyPrefix(config) });
  const client = clientFor(config, account);
  const projectId = findAccount(config.accounts, account)?.projectId;
  try {
    return await readSlots({ client, queues, limit, ...(projectId ? { projectId } : {}) });
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
