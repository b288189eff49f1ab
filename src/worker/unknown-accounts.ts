import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { moveToDeadLetter } from '../dead-letters/store.js';
import { readWorkers, servedAccounts } from '../ops/liveness.js';
import { readKnownAccounts } from '../shared/account-registry.js';
import type { CloseJobData, DeadLetterData } from '../shared/jobs.js';
import type { Logger } from '../shared/logger.js';
import { accountKeyPrefix, closeQueueName } from '../shared/names.js';
import type { Queues } from '../shared/queues.js';
import type { Redis } from '../shared/redis.js';
import { withAttempt } from './job-data.js';

/** Default of `graceMs`: how long an account must go unserved before its closes dead-letter. */
export const DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS = 60_000;

export interface UnknownAccountDrainOptions {
  connection: Redis;
  /** The deployment's key prefix (`keyPrefix(config)`). */
  prefix: string;
  queues: Queues;
  /** The accounts this process serves (never drained by it). */
  served: readonly string[];
  logger: Logger;
  /**
   * An account is drained once no live worker has served it for this long (ms): long enough for
   * a worker restart or a rolling deploy, so a close waits through those and is dead-lettered
   * only when its account is really gone. Default {@link DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS}.
   */
  graceMs?: number;
  /** How often the registry and the workers' accounts are read (ms). Default 5 000, at most `graceMs`. */
  intervalMs?: number;
  /** Called for each letter moved (results, metrics, log, event: the worker's one recorder). */
  onDeadLettered: (letter: DeadLetterData) => Promise<void>;
}

export interface UnknownAccountDrain {
  /** Accounts being drained now. */
  draining(): string[];
  close(): Promise<void>;
}

/**
 * Finds the queues of accounts that no live worker serves — accounts closes were enqueued for
 * (`<prefix>:accounts`) but that are in no running worker's accounts file — and, once an
 * account has gone unserved for `graceMs`, dead-letters its closes as `UNKNOWN_ACCOUNT` with the
 * account's name, so they show in `dlq list` and can be re-driven once the account is configured
 * rather than wait unseen. Stops draining an account as soon as a live worker serves it. Every
 * worker process runs one; two draining the same account only share its jobs (BullMQ locks each).
 */
export function startUnknownAccountDrain(opts: UnknownAccountDrainOptions): UnknownAccountDrain {
  const { connection, prefix, queues, logger } = opts;
  const graceMs = opts.graceMs ?? DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS;
  const intervalMs = Math.max(50, Math.min(opts.intervalMs ?? 5_000, graceMs));
  const own = new Set(opts.served);
  const unservedSince = new Map<string, number>();
  const drains = new Map<string, Worker<CloseJobData>>();
  let stopped = false;

  const startDrain = (account: string) => {
    const message = `no worker serves the account \`${account}\` (no live worker has it in its accounts file for ${Math.round(graceMs / 1000)} s): configure it and re-drive this close`;
    const worker = new Worker<CloseJobData>(
      closeQueueName(account),
      async (job: Job<CloseJobData>) => {
        const data = job.data;
        const attempt = (Array.isArray(data.history) ? data.history.length : 0) + 1;
        await job.updateData(withAttempt(data, { attempt, at: Date.now(), code: 'UNKNOWN_ACCOUNT', message }));
        throw new UnrecoverableError(message);
      },
      { connection, prefix: accountKeyPrefix(prefix, account), concurrency: 50, autorun: true },
    );
    worker.on('failed', (job) => {
      if (job) moveToDeadLetter(queues, job, opts.onDeadLettered).catch((err: Error) => logger.warn({ account, jobId: job.id, err: err.message }, 'dead-letter move failed; the backstop sweep will retry it'));
    });
    worker.on('error', (err) => logger.warn({ account, err: err.message }, 'unknown-account drain error'));
    drains.set(account, worker);
    logger.warn({ account, graceMs }, `no worker serves the account ${account}: its closes are dead-lettered as UNKNOWN_ACCOUNT (re-drive them once a worker serves it)`);
  };

  const check = async () => {
    const [known, workers] = await Promise.all([readKnownAccounts(connection, prefix), readWorkers(connection, prefix)]);
    if (stopped) return;
    const served = servedAccounts(workers);
    const now = Date.now();
    for (const account of known) {
      if (own.has(account) || served.has(account)) {
        unservedSince.delete(account);
        const w = drains.get(account);
        if (w) {
          drains.delete(account);
          logger.info({ account }, `a worker serves the account ${account} again: no longer dead-lettering its closes`);
          await w.close().catch(() => {});
        }
        continue;
      }
      const since = unservedSince.get(account) ?? now;
      unservedSince.set(account, since);
      if (!drains.has(account) && now - since >= graceMs) startDrain(account);
    }
  };

  let running: Promise<void> | undefined;
  const tick = () => {
    if (running || stopped) return;
    running = check()
      .catch((err: Error) => logger.debug({ err: err.message }, 'unknown-account check failed (Redis unavailable?)'))
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  return {
    draining: () => [...drains.keys()].sort(),
    async close() {
      stopped = true;
      clearInterval(timer);
      await running;
      await Promise.all([...drains.values()].map((w) => w.close().catch(() => {})));
      drains.clear();
    },
  };
}
