import { BrowserbaseError, createBrowserbaseClient, DEFAULT_VERIFY_TIMEOUT_MS, isRetryableError, withRetries, type BrowserbaseClient, type ResponseInfo } from '../browserbase/index.js';
import type { Config } from '../config/index.js';
import { createMetricsRecorder, type MetricsRecorder } from '../metrics/index.js';
import { startIngressBridge } from '../ingress/index.js';
import { createResultsWriter } from '../results/index.js';
import { startSweepProcessor } from '../sweep/processor.js';
import type { Logger } from '../shared/logger.js';
import { DEFAULT_ACCOUNT, keyPrefix } from '../shared/names.js';
import { deadLetterResult } from '../dead-letters/letter.js';
import { createRedis, waitForRedis, type Redis } from '../shared/redis.js';
import { createCloseWorker, type CloseWorker, type CloseWorkerOptions } from './create-worker.js';
import { startUnknownAccountDrain } from './unknown-accounts.js';

/** Default of `apiCheckBudgetMs`: how long the start-up check retries answers that gave no verdict. */
export const DEFAULT_API_CHECK_BUDGET_MS = 10_000;
/** Longest wait for one start-up check answer (headers, then body), ms; `requestTimeoutMs` when shorter. */
const API_CHECK_TIMEOUT_MS = 5_000;

/** What the worker needs of one account it serves (an `Account` of the accounts file fits). */
export interface ServedAccount {
  name: string;
  /** Its key (non-enumerable on an `Account`: never logged). */
  readonly apiKey: string | undefined;
  baseUrl: string;
  projectId?: string;
  rate: number;
  concurrency: number;
  attempts: number;
}

export interface WorkerServiceOptions {
  /** Redis, prefix, backoff; and, without `accounts`, the one account (`apiKey`, `baseUrl`, `rate`, ...). */
  config: Config;
  /**
   * The accounts this process serves, each with its own queue, limiter, key and attempts (default:
   * the one account `default` formed by `config`). Each needs its key.
   */
  accounts?: readonly ServedAccount[];
  logger: Logger;
  /** Confirm each close by polling GET. Default false. */
  verify?: boolean;
  /** Run the ingress bridge (Redis stream -> close queue) in this process. Default true. */
  ingress?: boolean;
  /** Run recurring sweeps registered with `bb-reaper sweep --every` in this process. Default true. */
  sweeps?: boolean;
  /**
   * Timeout of one API request, for the response headers and again for the body (ms). The
   * limiter reclaims the slots of a worker that died mid-request after about twice this.
   * Default 10 000.
   */
  requestTimeoutMs?: number;
  /**
   * Check once per account, before the worker starts, that the base URL answers like the
   * Browserbase API for its key (`client.checkApi()`: one GET of a random session id must answer
   * Browserbase's own 404). With one account, a refused key or an answer that is not the API's
   * throws `REJECTED` with one clear sentence and nothing starts; with several, the refused
   * account is logged as an error and still served (its closes dead-letter as REJECTED, the
   * others are untouched), unless every account is refused. Answers that give no verdict (5xx,
   * 429, timeouts, refused connections) are retried with backoff and logged for up to
   * `apiCheckBudgetMs`; then the worker starts anyway with a warning. Default true.
   */
  checkApi?: boolean;
  /** How long the start-up check may retry answers that gave no verdict, in ms. Default 10 000. */
  apiCheckBudgetMs?: number;
  /** How long an account may go unserved by every live worker before its closes dead-letter as `UNKNOWN_ACCOUNT` (ms). Default 60 000. */
  unknownAccountGraceMs?: number;
  /** Extra options for the close workers (tests and benchmarks). */
  worker?: Partial<Omit<CloseWorkerOptions, 'config' | 'client' | 'logger' | 'account' | 'heartbeat'>>;
}

export interface WorkerService {
  /** The first account's close worker (the only one without an accounts file). */
  readonly closeWorker: CloseWorker;
  /** One close worker per account served, by account name. */
  readonly closeWorkers: ReadonlyMap<string, CloseWorker>;
  close(opts?: { force?: boolean }): Promise<void>;
}

/**
 * Everything `bb-reaper worker` runs in one process: a close worker per account served (each on
 * its account's queue, with its own limiter and key, so one account's backlog or 429s never
 * delay another's closes), metrics and the results stream, the dead-letter processor, the
 * unknown-account drain, the ingress bridge and the recurring sweeps.
 */
export async function startWorkerService({
  config,
  accounts: given,
  logger,
  verify = false,
  ingress = true,
  sweeps = true,
  requestTimeoutMs = 10_000,
  checkApi = true,
  apiCheckBudgetMs = DEFAULT_API_CHECK_BUDGET_MS,
  unknownAccountGraceMs,
  worker: extra = {},
}: WorkerServiceOptions): Promise<WorkerService> {
  const accounts: readonly ServedAccount[] = given ?? [
    { name: DEFAULT_ACCOUNT, apiKey: config.apiKey, baseUrl: config.baseUrl, rate: config.rate, concurrency: config.concurrency, attempts: config.attempts, ...(config.projectId ? { projectId: config.projectId } : {}) },
  ];
  if (accounts.length === 0) throw new Error('startWorkerService needs at least one account');
  for (const a of accounts) if (!a.apiKey) throw new Error(`startWorkerService needs the key of the account ${a.name}`);
  // Answers that arrive before the recorder exists (the start-up check's) are counted once it does.
  const recorder: { metrics?: MetricsRecorder } = {};
  const early: Array<{ account: string; r: ResponseInfo }> = [];
  const connectTimeoutMs = Math.min(5000, requestTimeoutMs);
  const clients = new Map<string, BrowserbaseClient>();
  for (const a of accounts) {
    clients.set(
      a.name,
      createBrowserbaseClient({
        apiKey: a.apiKey as string,
        baseUrl: a.baseUrl,
        connectTimeoutMs,
        headersTimeoutMs: requestTimeoutMs,
        bodyTimeoutMs: requestTimeoutMs,
        onResponse: (r) => (recorder.metrics ? recorder.metrics.forAccount(a.name).apiResponse(r.status, r.durationMs) : early.push({ account: a.name, r })),
        ...(a.projectId ? { projectId: a.projectId } : {}),
      }),
    );
  }
  const closeClients = () => Promise.all([...clients.values()].map((c) => c.close()));
  if (checkApi) {
    // Before any Redis connection: a refused check leaves nothing to close (even with Redis down).
    const verdicts = await Promise.all(
      accounts.map((a) =>
        checkApiAtStart(clients.get(a.name) as BrowserbaseClient, accounts.length > 1 ? logger.child({ account: a.name }) : logger, { budgetMs: apiCheckBudgetMs, timeoutMs: Math.min(API_CHECK_TIMEOUT_MS, requestTimeoutMs) }).then(
          () => undefined,
          (err: unknown) => ({ account: a.name, err }),
        ),
      ),
    );
    const refused = verdicts.filter((v): v is { account: string; err: unknown } => v !== undefined);
    if (refused.length === accounts.length || refused.some((v) => !(v.err instanceof BrowserbaseError))) {
      await closeClients();
      const first = refused.find((v) => !(v.err instanceof BrowserbaseError)) ?? (refused[0] as { account: string; err: unknown });
      if (accounts.length > 1 && first.err instanceof BrowserbaseError) throw new BrowserbaseError(first.err.code, `account ${first.account}: ${first.err.message}`, { ...(first.err.statusCode !== undefined ? { statusCode: first.err.statusCode } : {}), cause: first.err });
      throw first.err;
    }
    for (const v of refused) logger.error({ account: v.account, code: (v.err as BrowserbaseError).code, err: (v.err as Error).message }, `API check refused the key of the account ${v.account}: serving it anyway, its closes will dead-letter as REJECTED until its key is fixed; other accounts are not affected`);
  }
  // A refused password, an untrusted certificate or an ACL refusal stops the start with one clear
  // error; Redis being down is waited out (the worker starts once it answers).
  let connection: Redis;
  try {
    connection = createRedis(config, { role: 'worker', name: 'bb-reaper:worker' });
  } catch (err) {
    await closeClients(); // e.g. BB_REAPER_REDIS_CA could not be read
    throw err;
  }
  try {
    await waitForRedis(connection, { untilUp: true });
  } catch (err) {
    connection.disconnect();
    await closeClients();
    throw err;
  }
  const prefix = keyPrefix(config);
  const metrics = createMetricsRecorder({ redis: connection, prefix });
  recorder.metrics = metrics;
  for (const { account, r } of early.splice(0)) metrics.forAccount(account).apiResponse(r.status, r.durationMs);
  const slotExpirationMs = connectTimeoutMs + 2 * requestTimeoutMs + (verify ? DEFAULT_VERIFY_TIMEOUT_MS : 0) + 1000;
  const results = createResultsWriter({ redis: connection, prefix });
  const names = accounts.map((a) => a.name);
  const closeWorkers = new Map<string, CloseWorker>();
  const stopWorkers = (force: boolean) => Promise.all([...closeWorkers.values()].map((w) => w.close({ force })));
  try {
    for (const [i, a] of accounts.entries()) {
      closeWorkers.set(
        a.name,
        await createCloseWorker({
          config: { ...config, rate: a.rate, concurrency: a.concurrency, attempts: a.attempts },
          account: a.name,
          client: clients.get(a.name) as BrowserbaseClient,
          logger,
          connection,
          metrics: metrics.forAccount(a.name),
          results,
          verify,
          slotExpirationMs,
          // one heartbeat and one dead-letter processor per process, for every account
          heartbeat: i === 0 ? names : false,
          ...(i > 0 ? { deadLetterProcessor: false } : {}),
          ...extra,
        }),
      );
    }
  } catch (err) {
    // e.g. the ACL refused the limiter's script (NOPERM): nothing may keep the process alive.
    await stopWorkers(true).catch(() => {});
    connection.disconnect();
    await closeClients();
    throw err;
  }
  const first = closeWorkers.get(names[0] as string) as CloseWorker;
  const drain = startUnknownAccountDrain({
    connection,
    prefix,
    queues: first.queues,
    served: names,
    logger,
    ...(unknownAccountGraceMs !== undefined ? { graceMs: unknownAccountGraceMs, intervalMs: Math.min(5_000, Math.max(100, unknownAccountGraceMs / 4)) } : {}),
    onDeadLettered: async (letter) => {
      await results.append(deadLetterResult(letter));
      metrics.forAccount(letter.account ?? DEFAULT_ACCOUNT).closeOutcome('dead_lettered');
      logger.warn({ jobId: letter.sourceJobId, sessionId: letter.sessionId, account: letter.account, code: letter.errorCode }, 'close dead-lettered');
    },
  });
  const bridge = ingress ? startIngressBridge({ connection, prefix, logger }) : undefined;
  // Each served account's recurring sweeps, listed with its own key and enqueued for it.
  const sweepers = sweeps ? names.map((account) => startSweepProcessor({ connection, prefix, client: clients.get(account) as BrowserbaseClient, account, logger })) : [];
  let closing: Promise<void> | undefined;
  return {
    closeWorker: first,
    closeWorkers,
    close({ force = false } = {}) {
      if (closing) {
        if (force) void stopWorkers(true);
        return closing;
      }
      closing = (async () => {
        await bridge?.close();
        await Promise.all(sweepers.map((w) => w.close()));
        await drain.close();
        await stopWorkers(force);
        await metrics.close().catch(() => {});
        await closeClients();
        await connection.quit().catch(() => connection.disconnect());
      })();
      return closing;
    },
  };
}

/**
 * Runs `client.checkApi()`, retrying answers that gave no verdict with backoff (each retry
 * logged) until `budgetMs` has passed. Throws the check's `REJECTED` error; when the budget runs
 * out without a verdict, logs a warning and returns (the worker then starts).
 */
async function checkApiAtStart(client: BrowserbaseClient, logger: Logger, { budgetMs, timeoutMs }: { budgetMs: number; timeoutMs: number }): Promise<void> {
  const budget = AbortSignal.timeout(Math.max(1, budgetMs));
  const started = Date.now();
  try {
    await withRetries(() => client.checkApi({ signal: budget, headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs }), {
      retries: Number.MAX_SAFE_INTEGER,
      baseMs: 250,
      maxMs: 2_000,
      signal: budget,
      onRetry: ({ attempt, delayMs, error }) => logger.warn({ code: error.code, httpStatus: error.statusCode, attempt, delayMs, err: error.message }, 'API check: no verdict yet; retrying'),
    });
    logger.info({ durationMs: Date.now() - started }, 'API check passed: the base URL answers like the Browserbase API');
  } catch (err) {
    const noVerdict = isRetryableError(err) || (err instanceof BrowserbaseError && err.code === 'ABORTED' && budget.aborted);
    if (!noVerdict) throw err;
    logger.warn(
      { code: err.code, budgetMs, err: err.message },
      'API check: no verdict within the budget (the API may be down); starting anyway, closes retry until it answers',
    );
  }
}
