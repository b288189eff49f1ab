/**
 * The dead-letter operations as the CLI (`bb-reaper dlq`) and the UI's ops API (`/api/dlq*`)
 * offer them: both call these, the way bull-board's adapters call its api. The work itself is
 * the dead-letter store's (`dead-letters/store.ts`).
 */
import { countDeadLetters, purgeDeadLetters, readDeadLetters, redriveDeadLetters, type DeadLetterEntry, type RedriveReport } from '../dead-letters/store.js';
import { closeJobId, parseCloseJobId } from '../shared/names.js';
import type { Queues } from '../shared/queues.js';

type DlqQueues = Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue'>;

export interface DeadLetterPage {
  /** First and last index asked for (0-based, inclusive). */
  start: number;
  end: number;
  /** Every dead letter there is (the same count `stats` shows). */
  total: number;
  items: DeadLetterEntry[];
}

/** One page of dead letters with the total, so a caller can say `(100 of 250)`. */
export async function readDeadLetterPage(queues: Pick<Queues, 'deadLetterQueue' | 'connection'>, { start, end }: { start: number; end: number }): Promise<DeadLetterPage> {
  const { total, entries } = await readDeadLetters(queues, { start, end });
  return { start, end, total, items: entries };
}

/**
 * A dead letter's id from what an operator typed: a letter id (`close-<session>`, as `dlq list`
 * shows it) as it is, anything else taken as a session id.
 */
export function toLetterId(idOrSessionId: string): string {
  return parseCloseJobId(idOrSessionId) !== undefined ? idOrSessionId : closeJobId(idOrSessionId);
}

/** Re-drives the given letters, or every letter (`all`). */
export async function redriveLetters(queues: DlqQueues, target: { ids: string[] } | { all: true }): Promise<RedriveReport> {
  return 'all' in target ? redriveDeadLetters(queues, { all: true }) : redriveDeadLetters(queues, { ids: target.ids });
}

export { countDeadLetters, purgeDeadLetters };
