import { createBrowserbaseClient, DEFAULT_VERIFY_TIMEOUT_MS } from '../browserbase/index.js';
import type { Config } from '../config/index.js';
import { createMetricsRecorder } from '../metrics/index.js';
import { startIngressBridge } from '../producer/ingress-bridge.js';
import { createResultsWriter } from '../results/index.js';
import { startSweepProcessor } from '../sweep/processor.js';
import type { Logger } from '../shared/logger.js';
import { createRedis } from '../shared/redis.js';
import { createCloseWorker, type CloseWorker, type CloseWorkerOptions } from './create-worker.js';

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
export async function startWorkerService({ config, logger, verify = false, ingress = true, sweeps = true, requestTimeoutMs = 10_000, worker: extra = {} }: WorkerServiceOptions): Promise<WorkerService> {
  if (!config.apiKey) throw new Error('startWorkerService needs config.apiKey');
  const connection = createRedis(config.redisUrl, { role: 'worker', name: 'bb-reaper:worker' });
  const metrics = createMetricsRecorder({ redis: connection, prefix: config.prefix });
  const connectTimeoutMs = Math.min(5000, requestTimeoutMs);
  const client = createBrowserbaseClient({
    apiKey: config.apiKey,
    baseUrl: config.baseUrl,
    connectTimeoutMs,
    headersTimeoutMs: requestTimeoutMs,
    bodyTimeoutMs: requestTimeoutMs,
    onResponse: (r) => metrics.apiResponse(r.status, r.durationMs),
    ...(config.projectId ? { projectId: config.projectId } : {}),
  });
  const slotExpirationMs = connectTimeoutMs + 2 * requestTimeoutMs + (verify ? DEFAULT_VERIFY_TIMEOUT_MS : 0) + 1000;
  const results = createResultsWriter({ redis: connection, prefix: config.prefix });
  const closeWorker = await createCloseWorker({ config, client, logger, connection, metrics, results, verify, slotExpirationMs, ...extra });
  const bridge = ingress ? startIngressBridge({ connection, prefix: config.prefix, logger }) : undefined;
  const sweeper = sweeps ? startSweepProcessor({ connection, prefix: config.prefix, client, logger }) : undefined;
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
