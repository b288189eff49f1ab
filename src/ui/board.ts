import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { AfterHook, BeforeHook } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { readKnownAccounts } from '../shared/account-registry.js';
import { closeQueueName, DEAD_LETTER_QUEUE, DEFAULT_ACCOUNT, sweepQueueName } from '../shared/names.js';
import type { SweepQueues } from '../sweep/scheduler.js';
import type { Redis } from '../shared/redis.js';
import type { Queues } from '../shared/queues.js';
import { formatCloseData, formatCloseName, formatCloseResult, formatDeadLetterData, formatDeadLetterName } from './job-format.js';


/** Where Bull Board is served. */
export const BOARD_PATH = '/ui';

/**
 * Writes Bull Board may make on the dead-letter queue: re-drive (Retry one / Retry all failed),
 * discard (Clean one / Clean all failed) and pause/resume. Everything else — adding jobs, editing
 * data, emptying, obliterating — is refused, so a dead letter keeps its provenance.
 */
const DLQ_WRITES = new Set([
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/clean',
  'put /api/queues/:queueName/clean/:queueStatus',
  'put /api/queues/:queueName/pause',
  'put /api/queues/:queueName/resume',
  'put /api/queues/pause',
  'put /api/queues/resume',
]);

/** Refuses every Bull Board write outside {@link DLQ_WRITES} (the close queue is read-only anyway). */
export const guardBoardWrites: BeforeHook = ({ method, route, request }) => {
  if (method === 'get') return { allow: true };
  const queueName = (request.params as Record<string, string | undefined> | undefined)?.queueName;
  const onDlqOrAll = queueName === undefined || queueName === DEAD_LETTER_QUEUE;
  if (onDlqOrAll && DLQ_WRITES.has(`${method} ${route}`)) {
    const status = (request.params as Record<string, string | undefined>).queueStatus;
    if (status === undefined || status === 'failed') return { allow: true };
  }
  return { allow: false, status: 403, message: `bb-reaper does not allow \`${method.toUpperCase()} ${route}\` on queue \`${queueName ?? '*'}\`: it could lose closes` };
};

type JobView = { stacktrace?: unknown };

/**
 * A dead letter's stack trace is always the DLQ processor parking it, never the close's failure:
 * it is dropped so the Error tab shows only the readable reason.
 */
export const tidyBoardAnswers: AfterHook = ({ route, request }, result) => {
  const body = result.body as { queues?: Array<{ name?: string; jobs?: JobView[] }>; job?: JobView } | undefined;
  if (!body || typeof body !== 'object') return result;
  if (route === '/api/queues') {
    for (const q of body.queues ?? []) if (q.name === DEAD_LETTER_QUEUE) for (const job of q.jobs ?? []) job.stacktrace = [];
  } else if (route === '/api/queues/:queueName/:jobId' && (request.params as Record<string, string> | undefined)?.queueName === DEAD_LETTER_QUEUE && body.job) {
    body.job.stacktrace = [];
  }
  return result;
};

type Formatters = Partial<Record<'name' | 'data' | 'returnValue', (value: never) => unknown>>;

/** A Bull Board adapter for `queue` whose views go through these formatters. */
function adapterWith(queue: Queue, options: ConstructorParameters<typeof BullMQAdapter>[1], formatters: Formatters): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, options);
  for (const [field, format] of Object.entries(formatters) as Array<[keyof Formatters, (value: never) => unknown]>) adapter.setFormatter(field, format as (value: unknown) => unknown);
  return adapter;
}

/**
 * Mounts Bull Board at `/ui` with the close queue (read-only: nothing in the UI can drop a
 * pending close) and the dead-letter queue (Retry re-drives through the DLQ processor).
 */
export async function mountBoard(
  app: FastifyInstance,
  queues: Pick<Queues, 'closeQueue' | 'closeQueueFor' | 'closeQueueOf' | 'deadLetterQueue' | 'prefix'>,
  sweepQueues?: SweepQueues,
  accounts: { configured?: readonly string[]; redis?: Redis; refreshMs?: number } = {},
): Promise<{ close(): void }> {
  // One close queue per account: `close` for default, `close@<account>` for the others.
  const closeAdapter = (account: string) =>
    adapterWith(
      queues.closeQueueFor(account),
      {
        readOnlyMode: true,
        displayName: closeQueueName(account),
        description: `Pending closes${account === DEFAULT_ACCOUNT ? '' : ` of the account ${account}`}. Leases are the Delayed ones titled "lease · <session> · closes at <time> unless renewed". Read-only here: nothing in the UI can drop a close. Failures move to dead-letter.`,
      },
      { name: formatCloseName, data: formatCloseData, returnValue: formatCloseResult },
    );
  const shown = new Set<string>([DEFAULT_ACCOUNT, ...(accounts.configured ?? [])]);
  const close = closeAdapter(DEFAULT_ACCOUNT);
  const others = [...shown].filter((a) => a !== DEFAULT_ACCOUNT).sort().map(closeAdapter);
  const dead = adapterWith(
    queues.deadLetterQueue,
    {
      allowRetries: true,
      displayName: 'dead-letter',
      description: 'Closes that failed for good, with the reason. Fix the cause, then Retry (or Retry all) to re-drive them with fresh attempts; Clean discards them.',
    },
    { name: formatDeadLetterName, data: formatDeadLetterData },
  );

  // Recurring sweeps (`bb-reaper sweep --every`), one queue per account: read-only, to see each run's counts.
  const sweepAdapter = (account: string, q: Queue) =>
    new BullMQAdapter(q, {
      readOnlyMode: true,
      displayName: sweepQueueName(account),
      description: `Recurring orphan sweeps${account === DEFAULT_ACCOUNT ? '' : ` of the account ${account}`} and what each run found (scanned, orphans, enqueued). Manage them with \`bb-reaper sweep --every / --stop${account === DEFAULT_ACCOUNT ? '' : ` --account ${account}`}\`.`,
    });
  const sweeps = sweepQueues ? [...shown].sort((a, b) => (a === DEFAULT_ACCOUNT ? -1 : b === DEFAULT_ACCOUNT ? 1 : a.localeCompare(b))).map((a) => sweepAdapter(a, sweepQueues.for(a))) : [];

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const board = createBullBoard({
    queues: [close, ...others, dead, ...sweeps],
    serverAdapter,
    options: {
      handlerHooks: { before: guardBoardWrites, after: tidyBoardAnswers },
      uiConfig: {
        boardTitle: `bb-reaper · ${queues.prefix}`,
        hideDocsLink: true,
        miscLinks: [
          { text: 'Metrics', url: '/metrics' },
          { text: 'Stats', url: '/api/stats' },
        ],
      },
    },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
  // Accounts closes are enqueued for later (the registry, `<prefix>:accounts`) appear on their own.
  const { redis } = accounts;
  if (!redis) return { close() {} };
  const refresh = async () => {
    for (const a of await readKnownAccounts(redis, queues.prefix)) {
      if (shown.has(a)) continue;
      shown.add(a);
      board.addQueue(closeAdapter(a));
      if (sweepQueues) board.addQueue(sweepAdapter(a, sweepQueues.for(a)));
    }
  };
  await refresh().catch(() => {});
  const timer = setInterval(() => void refresh().catch(() => {}), accounts.refreshMs ?? 10_000);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
