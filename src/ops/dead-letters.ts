/**
 * The dead-letter operations as the CLI (`bb-reaper dlq`) and the UI's ops API (`/api/dlq*`)
 * offer them: both call these, the way bull-board's adapters call its api. The work itself is
 * the dead-letter store's (`dead-letters/store.ts`).
 */
import { countDeadLetters, purgeDeadLetters, readDeadLetters, redriveDeadLetters, type DeadLetterEntry, type RedriveReport } from '../dead-letters/store.js';
import { closeJobId, parseCloseJobId } from '../shared/names.js';
import type { Queues } from '../shared/queues.js';
import { deadLetterIdsByAccount } from './accounts.js';

type DlqQueues = Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue'>;

export interface DeadLetterPage {
  /** First and last index asked for (0-based, inclusive). */
  start: number;
  end: number;
  /** Every dead letter there is (the same count `stats` shows). */
  total: number;
  items: DeadLetterEntry[];
}

/**
 * One page of dead letters with the total, so a caller can say `(100 of 250)`; with `account`,
 * of that account's letters only (the account a letter's id names).
 */
export async function readDeadLetterPage(queues: Pick<Queues, 'deadLetterQueue' | 'connection'>, { start, end, account }: { start: number; end: number; account?: string }): Promise<DeadLetterPage> {
  if (account === undefined) {
    const { total, entries } = await readDeadLetters(queues, { start, end });
    return { start, end, total, items: entries };
  }
  const ids = (await deadLetterIdsByAccount(queues)).get(account) ?? [];
  const page = ids.slice(start, end + 1);
  const jobs = await Promise.all(page.map(({ id }) => queues.deadLetterQueue.getJob(id)));
  const items: DeadLetterEntry[] = [];
  page.forEach(({ state }, i) => {
    const job = jobs[i];
    if (job?.id) items.push({ id: job.id, state, data: job.data, ...(job.failedReason ? { failedReason: job.failedReason } : {}) });
  });
  return { start, end, total: ids.length, items };
}

/** The ids of one account's dead letters. */
export async function deadLetterIdsOf(queues: Pick<Queues, 'deadLetterQueue'>, account: string): Promise<string[]> {
  return ((await deadLetterIdsByAccount(queues)).get(account) ?? []).map((l) => l.id);
}

/**
 * A dead letter's id from what an operator typed: a letter id (`close-<session>`, as `dlq list`
 * shows it) as it is, anything else taken as a session id.
 */
export function toLetterId(idOrSessionId: string): string {
  return parseCloseJobId(idOrSessionId) !== undefined ? idOrSessionId : closeJobId(idOrSessionId);
}

/** Re-drives the given letters, or every letter (`all`), or every letter of one account (`all` with `account`). */
export async function redriveLetters(queues: DlqQueues, target: { ids: string[] } | { all: true; account?: string }): Promise<RedriveReport> {
  if ('all' in target && target.account !== undefined) return redriveDeadLetters(queues, { ids: await deadLetterIdsOf(queues, target.account) });
  return 'all' in target ? redriveDeadLetters(queues, { all: true }) : redriveDeadLetters(queues, { ids: target.ids });
}

/** Purges every dead letter, or (`account`) every letter of one account; a letter being parked (locked) is left. */
export async function purgeLetters(queues: Pick<Queues, 'deadLetterQueue'>, { account }: { account?: string } = {}): Promise<number> {
  if (account === undefined) return purgeDeadLetters(queues);
  let n = 0;
  for (const id of await deadLetterIdsOf(queues, account)) {
    const job = await queues.deadLetterQueue.getJob(id);
    if (!job) continue;
    try {
      await job.remove();
      n++;
    } catch {
      // locked (being parked or re-driven): left as it is
    }
  }
  return n;
}

export { countDeadLetters, purgeDeadLetters };
