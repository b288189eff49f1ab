import { describeFailure } from '../../dead-letters/describe.js';
import { describeWindow, readWorkers, servedAccounts } from '../../ops/liveness.js';
import { closeQueueName } from '../../shared/names.js';
import { DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS } from '../../worker/unknown-accounts.js';
import { waitForCloses, type WaitReport } from '../../ops/wait-for-closes.js';
import { printable } from '../../shared/printable.js';
import type { Queues } from '../../shared/queues.js';
import type { Redis } from '../../shared/redis.js';
import { printErr, printOut } from './output.js';
import { createProgressReporter } from './progress.js';

/** Dead letters printed in human output. */
const MAX_LETTERS_PRINTED = 20;

/**
 * Warns on stderr when no worker is alive under this prefix (the one liveness rule,
 * `ops/liveness.ts`), or, when some are, for each of `accounts` that no live worker serves (the
 * names workers publish with their heartbeat). `accountsOnly`: only the second warning.
 */
export async function warnIfNoWorker(redis: Redis, prefix: string, { accounts = [], accountsOnly = false }: { accounts?: readonly string[]; accountsOnly?: boolean } = {}): Promise<void> {
  const workers = await readWorkers(redis, prefix).catch(() => []);
  if (!workers.some((w) => w.alive)) {
    if (!accountsOnly) printErr(`bb-reaper: no worker is running under prefix \`${printable(prefix)}\` (no heartbeat within ${describeWindow()}); closes wait until one starts: \`bb-reaper worker\`\n`);
    return;
  }
  const served = servedAccounts(workers);
  for (const a of new Set(accounts)) {
    if (served.has(a)) continue;
    printErr(
      `bb-reaper: no live worker serves the account \`${printable(a)}\` (none has it in its accounts file); its closes wait in \`${printable(closeQueueName(a))}\` and are dead-lettered as UNKNOWN_ACCOUNT if no worker serves it within ${Math.round(DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS / 1000)} s: add it to BB_REAPER_ACCOUNTS and restart the workers\n`,
    );
  }
}

export type FollowReport = WaitReport & { timedOut: boolean };

/**
 * Waits for closes with a progress bar (TTY) or periodic lines, stopping on Ctrl-C or the timeout.
 * With `warnUnder` (a prefix) and without `json`, first warns when no worker runs under it — after
 * Ctrl-C is handled, so a Ctrl-C right after the warning still ends with the report and exit 130.
 */
export async function followCloses(
  target: { queues: Pick<Queues, 'closeQueue' | 'closeQueueOf' | 'deadLetterQueue'>; redis: Redis },
  jobIds: string[],
  { json, timeoutMs, warnUnder, accounts }: { json?: boolean; timeoutMs?: number; warnUnder?: string; accounts?: readonly string[] },
): Promise<FollowReport> {
  const controller = new AbortController();
  let timedOut = false;
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  if (warnUnder !== undefined && !json) await warnIfNoWorker(target.redis, warnUnder, accounts ? { accounts } : {});
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const progress = createProgressReporter({ label: 'wait', total: new Set(jobIds).size, json });
  try {
    const report = await waitForCloses(target, jobIds, {
      signal: controller.signal,
      onProgress: (p) => progress.update(p.total - p.pending, { closed: p.closed, alreadyGone: p.alreadyGone, deadLettered: p.deadLettered }),
    });
    return { ...report, timedOut: report.aborted && timedOut };
  } finally {
    progress.stop();
    if (timer) clearTimeout(timer);
    process.removeListener('SIGINT', onSigint);
  }
}

/** The human report of a wait; session ids, codes and server messages are shown printable. */
export function printWaitReport(r: FollowReport): void {
  printOut(`closed ${r.closed}, already gone ${r.alreadyGone}, dead-lettered ${r.deadLettered}${r.pending > 0 ? `, still pending ${r.pending}` : ''} (of ${r.total})\n`);
  for (const d of r.deadLetters.slice(0, MAX_LETTERS_PRINTED)) {
    printOut(`dead-lettered ${printable(d.sessionId ?? d.jobId)}: ${describeFailure({ code: d.errorCode, httpStatus: d.httpStatus, message: d.message })}\n`);
  }
  if (r.deadLettered > 0) printOut('inspect with `bb-reaper dlq list`, re-drive with `bb-reaper dlq retry --all`\n');
  if (r.aborted) {
    printErr(`bb-reaper: ${r.timedOut ? 'gave up waiting (--wait-timeout)' : 'interrupted'}; the ${r.pending} pending closes stay queued and workers will finish them\n`);
  }
}
