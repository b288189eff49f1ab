import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from '../shared/redis.js';
import { z } from 'zod';
import { BrowserbaseError } from '../browserbase/errors.js';
import { renderMetrics } from '../metrics/exposition.js';
import { readLeasePage } from '../ops/accounts.js';
import { purgeLetters, readDeadLetterPage, redriveLetters } from '../ops/dead-letters.js';
import { BbReaperError } from '../shared/errors.js';
import { ACCOUNT_NAME_PATTERN, ACCOUNT_NAME_RULE } from '../shared/names.js';
import { DEFAULT_OLDEST_LIMIT, MAX_SLOTS_LIMIT, readSlots, type SlotsClient } from '../ops/slots.js';
import { gatherOpsSnapshot, toMetricsSnapshot } from '../ops/snapshot.js';
import type { Queues } from '../shared/queues.js';
import type { SweepQueues } from '../sweep/scheduler.js';

/** Most dead letters one `GET /api/dlq` returns. */
export const MAX_DLQ_PAGE = 1000;
/** Most ids one `POST /api/dlq/redrive` accepts. */
export const MAX_REDRIVE_IDS = 10_000;

const index = (name: string) =>
  z.coerce
    .number({ error: `expected \`${name}\` to be an integer ≥ 0` })
    .int({ error: `expected \`${name}\` to be an integer ≥ 0` })
    .min(0, { error: `expected \`${name}\` to be an integer ≥ 0` });

/** `account`: a name as the accounts file allows (`ACCOUNT_NAME_PATTERN`). */
const accountField = z.string().regex(ACCOUNT_NAME_PATTERN, { error: `expected \`account\` to be an account name: ${ACCOUNT_NAME_RULE}` });

const statsQuery = z.object({ account: accountField.optional() });

const dlqQuery = z
  .object({ start: index('start').default(0), end: index('end').optional(), account: accountField.optional() })
  .transform(({ start, end, account }) => ({ start, end: end ?? start + 99, ...(account !== undefined ? { account } : {}) }))
  .refine(({ start, end }) => end >= start && end - start < MAX_DLQ_PAGE, {
    error: `expected \`start\` ≤ \`end\` and at most ${MAX_DLQ_PAGE} dead letters per page`,
  });


const slotsQuery = z.object({
  limit: z.coerce
    .number({ error: `expected \`limit\` to be an integer from 1 to ${MAX_SLOTS_LIMIT}` })
    .int({ error: `expected \`limit\` to be an integer from 1 to ${MAX_SLOTS_LIMIT}` })
    .min(1, { error: `expected \`limit\` to be an integer from 1 to ${MAX_SLOTS_LIMIT}` })
    .max(MAX_SLOTS_LIMIT, { error: `expected \`limit\` to be an integer from 1 to ${MAX_SLOTS_LIMIT}` })
    .default(DEFAULT_OLDEST_LIMIT),
});

/** Most leases one `GET /api/leases` returns. */
export const MAX_LEASE_PAGE = 1000;

const leasesQuery = z.object({
  offset: index('offset').default(0),
  limit: z.coerce
    .number({ error: `expected \`limit\` to be an integer from 1 to ${MAX_LEASE_PAGE}` })
    .int({ error: `expected \`limit\` to be an integer from 1 to ${MAX_LEASE_PAGE}` })
    .min(1, { error: `expected \`limit\` to be an integer from 1 to ${MAX_LEASE_PAGE}` })
    .max(MAX_LEASE_PAGE, { error: `expected \`limit\` to be an integer from 1 to ${MAX_LEASE_PAGE}` })
    .default(100),
  account: accountField.optional(),
});

/** `POST /api/dlq/purge`: an empty body purges every letter; `{"account": "prod"}` only that account's. */
const purgeBody = z.object({ account: accountField.optional() });

/** Why `GET /api/slots` answers 503 in a UI started without a Browserbase client. */
export const SLOTS_UNAVAILABLE_MESSAGE =
  'slots need the Browserbase API, and this UI process has no API key (the UI runs without one by design); run `bb-reaper slots` where BROWSERBASE_API_KEY is set';

const redriveBody = z.strictObject(
  {
    ids: z
      .array(z.string({ error: 'expected `ids` to hold job id strings' }).min(1, { error: 'expected `ids` to hold non-empty strings' }).max(1024), {
        error: 'expected `ids` to be an array of job ids',
      })
      .min(1, { error: 'expected `ids` to hold at least one job id' })
      .max(MAX_REDRIVE_IDS, { error: `expected at most ${MAX_REDRIVE_IDS} ids per request` })
      .optional(),
    all: z.boolean({ error: 'expected `all` to be true or false' }).optional(),
    /** With `all`: only this account's letters. */
    account: accountField.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `\`${k}\``).join(', ')}: expected \`ids\` or \`all\` (with \`account\`)`
        : 'expected a JSON object `{"ids": [...]}` or `{"all": true}`',
  },
);

function badRequest(reply: FastifyReply, error: z.ZodError) {
  const message = error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  return reply.code(400).send({ error: 'INVALID_REQUEST', message });
}

export interface OpsRoutesOptions {
  redis: Redis;
  queues: Queues;
  /** For each account's recurring sweeps in `/api/stats`. */
  sweepQueues?: SweepQueues;
  heartbeatMaxAgeMs: number;
  /** For `GET /api/slots`: a Browserbase client and the configured project. Default: none (the route answers 503). */
  slots?: { client: SlotsClient; projectId?: string };
  /** Names of the accounts in the UI's accounts file (listed in `/api/stats` even when idle). */
  configuredAccounts?: readonly string[];
}

/**
 * `/metrics` (Prometheus text) and the JSON ops API scripts use: `GET /api/stats`,
 * `GET /api/dlq?start&end`, `POST /api/dlq/redrive`, `POST /api/dlq/purge`, `GET /api/slots?limit` (503 without a client),
 * `GET /api/leases?offset&limit`. An adapter only: it
 * checks the request and calls the ops layer (`src/ops/`), which `bb-reaper stats` and `dlq` call too.
 */
export function registerOpsRoutes(app: FastifyInstance, { redis, queues, sweepQueues, heartbeatMaxAgeMs, slots, configuredAccounts }: OpsRoutesOptions): void {
  const snapshot = (account?: string) =>
    gatherOpsSnapshot({ redis, queues, heartbeatMaxAgeMs, ...(sweepQueues ? { sweepQueues } : {}), ...(configuredAccounts ? { configuredAccounts } : {}), ...(account !== undefined ? { account } : {}) });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics(toMetricsSnapshot(await snapshot()));
    return reply.type(contentType).send(body);
  });

  app.get('/api/stats', async (request, reply) => {
    const parsed = statsQuery.safeParse(request.query ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    try {
      return await snapshot(parsed.data.account);
    } catch (err) {
      if (err instanceof BbReaperError && err.code === 'INVALID_OPTION') return reply.code(404).send({ error: 'UNKNOWN_ACCOUNT', message: err.message });
      throw err;
    }
  });

  app.get('/api/slots', async (request, reply) => {
    if (!slots) return reply.code(503).send({ error: 'SLOTS_UNAVAILABLE', message: SLOTS_UNAVAILABLE_MESSAGE });
    const parsed = slotsQuery.safeParse(request.query ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    try {
      return await readSlots({ client: slots.client, queues, limit: parsed.data.limit, ...(slots.projectId !== undefined ? { projectId: slots.projectId } : {}) });
    } catch (err) {
      // The API's answer, not ours: 502 with its stable code (messages never hold the key).
      if (err instanceof BrowserbaseError) return reply.code(502).send({ error: err.code, message: err.message });
      throw err;
    }
  });

  // Pending leases, soonest deadline first: what `bb-reaper lease --list --json` prints.
  app.get('/api/leases', async (request, reply) => {
    const parsed = leasesQuery.safeParse(request.query ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    const { account, offset, limit } = parsed.data;
    try {
      return { at: Date.now(), ...(await readLeasePage({ redis, queues, offset, limit, ...(configuredAccounts ? { configured: configuredAccounts } : {}), ...(account !== undefined ? { account } : {}) })) };
    } catch (err) {
      if (err instanceof BbReaperError && err.code === 'INVALID_OPTION') return reply.code(404).send({ error: 'UNKNOWN_ACCOUNT', message: err.message });
      throw err;
    }
  });

  app.get('/api/dlq', async (request, reply) => {
    const parsed = dlqQuery.safeParse(request.query ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    return readDeadLetterPage(queues, parsed.data);
  });

  app.post('/api/dlq/redrive', async (request, reply) => {
    const parsed = redriveBody.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    const { ids, all, account } = parsed.data;
    if ((ids !== undefined) === (all === true)) {
      return reply.code(400).send({ error: 'INVALID_REQUEST', message: 'expected exactly one of `ids` (a list of job ids) or `"all": true`' });
    }
    const result = await redriveLetters(queues, all ? { all: true, ...(account !== undefined ? { account } : {}) } : { ids: ids ?? [] });
    request.log.info({ redriven: result.redriven.length, missing: result.missing.length }, 'dead letters re-driven through the ops API');
    return result;
  });

  app.post('/api/dlq/purge', async (request, reply) => {
    const parsed = purgeBody.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    const purged = await purgeLetters(queues, parsed.data);
    request.log.warn({ purged }, 'dead letters purged through the ops API');
    return { purged };
  });
}
