import { randomUUID } from 'node:crypto';
import { createBrowserbaseClient } from '../browserbase/index.js';
import { maskUrlPassword, resolveConfig } from '../config/index.js';
import { createProducer } from '../producer/producer.js';
import { waitForCloses, type WaitProgress } from '../ops/wait-for-closes.js';
import type { Logger } from '../shared/logger.js';
import { CLOSE_JOB_NAME, closeJobId } from '../shared/names.js';
import { createRedis, DEFAULT_REDIS_URL, type Redis } from '../shared/redis.js';
import { startSimulator } from '../simulator/index.js';
import { createUiServer, type UiServer } from '../ui/index.js';
import { createCloseWorker, readLimiterState, type CloseWorker } from '../worker/index.js';
import { ensureRedis } from './embedded-redis.js';
import { DEMO_SETTINGS, type DemoSummary } from './summary.js';

export interface DemoOptions {
  /** Sessions to create and close. Default 2000. */
  sessions?: number;
  /** Redis to use when it answers; otherwise an embedded one is started. Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Serve the queue UI in-process. Default true. */
  ui?: boolean;
  logger: Logger;
  /** Called as closes become final. */
  onProgress?: (p: WaitProgress) => void;
  /** Called with one line per step, for humans. */
  onStep?: (message: string) => void;
  /** Stops waiting (Ctrl-C); the run then reports what was pending. */
  signal?: AbortSignal;
}

/** A finished demo run: its summary, and everything still running (UI, simulator, Redis) to stop. */
export interface DemoRun {
  summary: DemoSummary;
  /** The queue UI, while the run is not stopped. */
  uiUrl?: string;
  /** Stops workers, UI, simulator and the embedded Redis; deletes the demo's keys from a shared Redis. */
  stop(): Promise<void>;
}

/** Ids a non-validating producer might write straight into Redis: the worker dead-letters them unsent. */
export const HOSTILE_IDS = ['../../v1/projects', 'sess_1?status=COMPLETED'] as const;

/** Deletes every key under `prefix:` (SCAN + UNLINK in batches). Returns how many. */
async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) n += await redis.unlink(...batch);
  } while (cursor !== '0');
  return n;
}

/**
 * The zero-config demo: a Redis (embedded when none answers), the simulator with a rate limit,
 * a few thousand sessions (some of another project, so already gone), closes enqueued as arrays,
 * two malformed ids written straight into the queue, two in-process workers, a short burst of
 * 5xx answers, and the queue UI. Everything lives under a unique key prefix.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoRun> {
  const n = opts.sessions ?? DEMO_SETTINGS.sessions;
  const step = opts.onStep ?? (() => {});
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    while (stops.length) await (stops.pop() as () => Promise<unknown>)().catch(() => undefined);
  };
  try {
    const started = Date.now();
    const redisUrl = opts.redisUrl ?? DEFAULT_REDIS_URL;
    const redis = await ensureRedis(redisUrl);
    stops.push(() => redis.close());
    const prefix = `bb-reaper-demo-${randomUUID().slice(0, 8)}`;
    step(redis.embedded ? `redis: none answered at ${maskUrlPassword(redisUrl)}; started an embedded redis-server at ${redis.url}` : `redis: using ${maskUrlPassword(redis.url)} under the private prefix ${prefix} (removed at exit)`);

    const sim = await startSimulator({ apiKeys: [DEMO_SETTINGS.apiKey], rate: DEMO_SETTINGS.simulatorRate, burst: DEMO_SETTINGS.simulatorBurst, releaseDelayMs: 0, logRequests: false });
    stops.push(() => sim.close());
    step(`simulator: ${sim.url} (limit ${DEMO_SETTINGS.simulatorRate} req/s, burst ${DEMO_SETTINGS.simulatorBurst})`);

    const connection = createRedis(redis.url, { role: 'worker', name: 'bb-reaper:demo' });
    stops.push(() => connection.quit().catch(() => connection.disconnect()));
    if (!redis.embedded) stops.push(() => deleteKeys(connection, prefix));
    const config = resolveConfig({
      env: {
        REDIS_URL: redis.url,
        BROWSERBASE_API_KEY: DEMO_SETTINGS.apiKey,
        BROWSERBASE_BASE_URL: sim.url,
        BB_REAPER_PREFIX: prefix,
        BB_REAPER_RATE: String(DEMO_SETTINGS.workerRate),
        BB_REAPER_CONCURRENCY: String(DEMO_SETTINGS.workerConcurrency),
        BB_REAPER_ATTEMPTS: String(DEMO_SETTINGS.attempts),
        BB_REAPER_BACKOFF_MS: String(DEMO_SETTINGS.backoffMs),
      },
    });
    const producer = createProducer({ connection, prefix });
    stops.push(() => producer.close());
    const client = createBrowserbaseClient({ apiKey: DEMO_SETTINGS.apiKey, baseUrl: sim.url });
    stops.push(() => client.close());

    let ui: UiServer | undefined;
    if (opts.ui !== false) {
      ui = createUiServer({ config: { redisUrl: redis.url, prefix, uiHost: '127.0.0.1', uiPort: 0, uiUser: undefined, uiPassword: undefined }, logger: opts.logger });
      await ui.listen();
      const server = ui;
      stops.push(() => server.close());
      step(`queue UI: ${server.url}/ui`);
    }

    const counts = { closed: 0, retries: 0, rateLimited: 0, minutesSaved: 0 };
    let burst: 'before' | 'on' | 'done' = 'before';
    // The burst lasts burstMs and until it has failed a few requests, so a machine too busy to
    // send any in burstMs still shows one (the summary promises retried 5xx answers).
    let burstStartedAt = 0;
    let retriesAtBurst = 0;
    const maybeEndBurst = () => {
      if (burst === 'on' && Date.now() - burstStartedAt >= DEMO_SETTINGS.burstMs && counts.retries - retriesAtBurst >= DEMO_SETTINGS.burstMinFailures) {
        burst = 'done';
        sim.setFaults({ errorRate: 0 });
      }
    };
    const workers: CloseWorker[] = [];
    for (let i = 0; i < DEMO_SETTINGS.workers; i++) {
      const w = await createCloseWorker({ config, client, logger: opts.logger, deadLetterSweepMs: 1000 });
      // close() is idempotent without `force`; the workers are closed before returning anyway.
      stops.push(() => w.close());
      workers.push(w);
      w.events.on('retrying', () => {
        counts.retries++;
        maybeEndBurst();
      });
      w.events.on('rate-limited', () => counts.rateLimited++);
      w.events.on('closed', (r) => {
        counts.closed++;
        counts.minutesSaved += r.minutesSaved ?? 0;
        if (burst === 'before' && counts.closed >= n * DEMO_SETTINGS.burstAtFraction) {
          burst = 'on';
          burstStartedAt = Date.now();
          retriesAtBurst = counts.retries;
          sim.setFaults({ errorRate: DEMO_SETTINGS.burstErrorRate });
          setTimeout(maybeEndBurst, DEMO_SETTINGS.burstMs).unref();
        }
        maybeEndBurst();
      });
    }
    step(`workers: ${workers.length} in this process, ${config.rate} req/s and ${config.concurrency} in flight together, ${config.attempts} attempts, backoff from ${config.backoffMs} ms`);

    const goneCount = Math.max(1, Math.round(n * DEMO_SETTINGS.otherProjectFraction));
    const ids = [...sim.createSessions(n - goneCount), ...sim.createSessions(goneCount, { projectId: 'another-project' })];
    const jobIds: string[] = [];
    const enqueueStarted = Date.now();
    for (let i = 0; i < ids.length; i += DEMO_SETTINGS.batchSize) {
      const report = await producer.closeSessions(ids.slice(i, i + DEMO_SETTINGS.batchSize), { source: 'demo' });
      jobIds.push(...report.jobIds);
    }
    for (const bad of HOSTILE_IDS) {
      const jobId = closeJobId(bad);
      await producer.queues.closeQueue.add(CLOSE_JOB_NAME, { sessionId: bad, enqueuedAt: Date.now(), source: 'demo-raw' }, { jobId });
      jobIds.push(jobId);
    }
    step(`enqueued ${ids.length} closes in arrays of ${DEMO_SETTINGS.batchSize} (${goneCount} of another project: the API answers 404) and ${HOSTILE_IDS.length} malformed ids written straight into Redis`);

    const waited = await waitForCloses({ queues: producer.queues, redis: connection }, jobIds, { pollMs: 150, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    const finished = Date.now();
    const simStats = sim.stats();
    const limiter = await readLimiterState(connection, prefix);
    const summary: DemoSummary = {
      sessions: ids.length,
      malformed: HOSTILE_IDS.length,
      closed: waited.closed,
      alreadyGone: waited.alreadyGone,
      deadLettered: waited.deadLettered,
      pending: waited.pending,
      deadLetters: waited.deadLetters,
      retries: counts.retries,
      minutesSaved: Math.round(counts.minutesSaved * 10) / 10,
      http429: simStats.requests.byStatus['429'] ?? 0,
      http5xx: Object.entries(simStats.requests.byStatus).filter(([s]) => s.startsWith('5')).reduce((a, [, v]) => a + v, 0),
      requests: simStats.requests.total,
      peakRequestsPerSecond: simStats.maxRequestsInAnySecond,
      configuredRate: config.rate,
      simulatorRate: DEMO_SETTINGS.simulatorRate,
      effectiveRate: limiter?.effectiveRate ?? config.rate,
      closeSeconds: (finished - enqueueStarted) / 1000,
      totalSeconds: (finished - started) / 1000,
      redis: redis.embedded ? 'embedded' : 'external',
      prefix,
      interrupted: waited.aborted,
      ...(ui ? { uiUrl: `${ui.url}/ui` } : {}),
    };
    for (const w of workers) await w.close();
    return { summary, ...(ui ? { uiUrl: `${ui.url}/ui` } : {}), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
