import { BrowserbaseError, createBrowserbaseClient, DEFAULT_VERIFY_TIMEOUT_MS, isRetryableError, withRetries, type BrowserbaseClient, type ResponseInfo } from '../browserbase/index.js';
import type { Config } from '../config/index.js';
import { createMetricsRecorder, type MetricsRecorder } from '../metrics/index.js';
import { startIngressBridge } from '../ingress/index.js';
import { createResultsWriter } from '../results/index.js';
import { startSweepProcessor } from '../sweep/processor.js';
import type { Logger } from '../shared/logger.js';
import { keyPrefix } from '../shared/names.js';
import { createRedis, waitForRedis, type Redis } from '../shared/redis.js';
import { createCloseWorker, type CloseWorker, type CloseWorkerOptions } from './create-worker.js';

/** Default of `apiCheckBudgetMs`: how long the start-up check retries answers that gave no verdict. */
export const DEFAULT_API_CHECK_BUDGET_MS = 10_000;
/** Longest wait for one start-up check answer (headers, then body), ms; `requestTimeoutMs` when shorter. */
const API_CHECK_TIMEOUT_MS = 5_000;

export interface WorkerServiceOptions {
  /** Needs `apiKey`. */
  config: Config;
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
   * Check once, before the worker starts, that the base URL answers like the Browserbase API for
   * this key (`client.checkApi()`: one GET of a random session id must answer Browserbase's own
   * 404). A refused key or an answer that is not the API's throws `REJECTED` with one clear
   * sentence and nothing starts. Answers that give no verdict (5xx, 429, timeouts, refused
   * connections) are retried with backoff and logged for up to `apiCheckBudgetMs`; then the
   * worker starts anyway with a warning (its closes ride out an outage on their own, and only
   * Browserbase's own 404 counts as "already gone"). Default true.
   */
  checkApi?: boolean;
  /** How long the start-up check may retry answers that gave no verdict, in ms. Default 10 000. */
  apiCheckBudgetMs?: number;
  /** Extra options for the close worker (tests and benchmarks). */
  worker?: Partial<Omit<CloseWorkerOptions, 'config' | 'client' | 'logger'>>;
}

export interface WorkerService {
  readonly closeWorker: CloseWorker;
  close(opts?: { force?: boolean }): Promise<void>;
}

/**
 * Everything `bb-reaper worker` runs in one process: the close worker (with metrics and the
 * results stream), the dead-letter processor, the ingress bridge and the recurring sweeps.
 */
export async function startWorkerService({
  config,
  logger,
  verify = false,
  ingress = true,
  sweeps = true,
  requestTimeoutMs = 10_000,
  checkApi = true,
  apiCheckBudgetMs = DEFAULT_API_CHECK_BUDGET_MS,
  worker: extra = {},
}: WorkerServiceOptions): Promise<WorkerService> {
  if (!config.apiKey) throw new Error('startWorkerService needs config.apiKey');
  // Answers that arrive before the recorder exists (the start-up check's) are counted once it does.
  const recorder: { metrics?: MetricsRecorder } = {};
  const early: ResponseInfo[] = [];
  const connectTimeoutMs = Math.min(5000, requestTimeoutMs);
  const client = createBrowserbaseClient({
    apiKey: config.apiKey,
    baseUrl: config.baseUrl,
    connectTimeoutMs,
    headersTimeoutMs: requestTimeoutMs,
    bodyTimeoutMs: requestTimeoutMs,
    onResponse: (r) => (recorder.metrics ? recorder.metrics.apiResponse(r.status, r.durationMs) : early.push(r)),
    ...(config.projectId ? { projectId: config.projectId } : {}),
  });
  if (checkApi) {
    // Before any Redis connection: a refused check leaves nothing to close (even with Redis down).
    try {
      await checkApiAtStart(client, logger, { budgetMs: apiCheckBudgetMs, timeoutMs: Math.min(API_CHECK_TIMEOUT_MS, requestTimeoutMs) });
    } catch (err) {
      await client.close();
      throw err;
    }
  }
  // A refused password, an untrusted certificate or an ACL refusal stops the start with one clear
  // error; Redis being down is waited out (the worker starts once it answers).
  let connection: Redis;
  try {
    connection = createRedis(config, { role: 'worker', name: 'bb-reaper:worker' });
  } catch (err) {
    await client.close(); // e.g. BB_REAPER_REDIS_CA could not be read
    throw err;
  }
  try {
    await waitForRedis(connection, { untilUp: true });
  } catch (err) {
    connection.disconnect();
    await client.close();
    throw err;
  }
  const prefix = keyPrefix(config);
  const metrics = createMetricsRecorder({ redis: connection, prefix });
  recorder.metrics = metrics;
  for (const r of early.splice(0)) metrics.apiResponse(r.status, r.durationMs);
  const slotExpirationMs = connectTimeoutMs + 2 * requestTimeoutMs + (verify ? DEFAULT_VERIFY_TIMEOUT_MS : 0) + 1000;
  const results = createResultsWriter({ redis: connection, prefix });
  let closeWorker: CloseWorker;
  try {
    closeWorker = await createCloseWorker({ config, client, logger, connection, metrics, results, verify, slotExpirationMs, ...extra });
  } catch (err) {
    // e.g. the ACL refused the limiter's script (NOPERM): nothing may keep the process alive.
    connection.disconnect();
    await client.close();
    throw err;
  }
  const bridge = ingress ? startIngressBridge({ connection, prefix, logger }) : undefined;
  const sweeper = sweeps ? startSweepProcessor({ connection, prefix, client, logger }) : undefined;
  let closing: Promise<void> | undefined;
  return {
    closeWorker,
    close({ force = false } = {}) {
      if (closing) {
        if (force) void closeWorker.close({ force: true });
        return closing;
      }
      closing = (async () => {
        await bridge?.close();
        await sweeper?.close();
        await closeWorker.close({ force });
        await client.close();
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
