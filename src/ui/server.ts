import Fastify, { LogController, type FastifyBaseLogger, type FastifyError } from 'fastify';
import type { Config } from '../config/index.js';
import { BbReaperError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { startDeadLetterProcessor } from '../dead-letters/parking-worker.js';
import { WORKER_ALIVE_WITHIN_MS } from '../ops/liveness.js';
import { createQueues } from '../shared/queues.js';
import { keyPrefix } from '../shared/names.js';
import { createRedis, type Redis, type RedisSettings } from '../shared/redis.js';
import { settlesWithin } from '../shared/time-limit.js';
import { createSweepQueues } from '../sweep/scheduler.js';
import type { SlotsClient } from '../ops/slots.js';
import { assertSafeBind, createAuthHook, type LoginThrottleOptions, type UiCredentials } from './auth.js';
import { BOARD_PATH, mountBoard } from './board.js';
import { createCrossSiteHook } from './cross-site.js';
import { registerHealthRoutes } from './health-routes.js';
import { registerOpsRoutes } from './ops-routes.js';

export interface UiServerOptions {
  /**
   * `redisUrl` (and the other Redis settings), `prefix`, `uiHost`, `uiPort` (0 = a free port),
   * `uiUser` / `uiPassword`, and the optional read-only `metricsToken` for `GET /metrics`. No API
   * key: the UI needs none.
   */
  config: RedisSettings & Pick<Config, 'prefix' | 'uiHost' | 'uiPort' | 'uiUser' | 'uiPassword' | 'metricsToken'> & Partial<Pick<Config, 'accounts'>>;
  /** An ioredis connection to use for everything (the caller keeps owning it). Default: the server opens its own. */
  connection?: Redis;
  logger: Logger;
  /**
   * A worker counts as alive (for `/readyz`, `/api/stats` and `bb_reaper_workers`) when its
   * heartbeat is at most this old, ms. Default 30 000: `WORKER_ALIVE_WITHIN_MS`, the window the
   * CLI uses too; change it only in tests.
   */
  heartbeatMaxAgeMs?: number;
  /**
   * A Browserbase client (and the configured project) for `GET /api/slots`; the caller keeps
   * owning it. Default: none, and `/api/slots` answers 503 (`bb-reaper ui` passes none: the UI
   * process holds no API key).
   */
  slots?: { client: SlotsClient; projectId?: string };
  /** How long `close()` waits for the dead-letter processor to stop, ms. Default 5000. */
  closeTimeoutMs?: number;
  /** Failed logins per client address before 429s: default 5 within 60 000 ms, 10 000 addresses tracked. */
  loginThrottle?: LoginThrottleOptions;
}

export interface UiServer {
  /** `http://host:port`, once `listen()` resolved. */
  readonly url: string;
  /** Starts the DLQ processor and listens; resolves with the URL. */
  listen(): Promise<string>;
  /** Stops listening (in-flight requests finish), stops the DLQ processor, closes what it opened. */
  close(): Promise<void>;
}

/** Headers on every answer: no framing (a one-click re-drive must not be clickjacked), no sniffing. */
const SECURITY_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

/**
 * The operator's HTTP server: Bull Board at `/ui`, `/metrics`, `/healthz`, `/readyz` and the ops
 * API under `/api/`. Throws `UI_UNSAFE_BIND` at once when asked to bind beyond loopback without
 * credentials. It also runs the dead-letter processor, which re-drives letters retried in the UI.
 */
export function createUiServer({ config, connection, logger, heartbeatMaxAgeMs = WORKER_ALIVE_WITHIN_MS, closeTimeoutMs = 5000, loginThrottle, slots }: UiServerOptions): UiServer {
  const credentials: UiCredentials | undefined =
    config.uiUser !== undefined && config.uiPassword !== undefined
      ? { user: config.uiUser, password: config.uiPassword, ...(config.metricsToken !== undefined ? { metricsToken: config.metricsToken } : {}) }
      : undefined;
  assertSafeBind(config.uiHost, credentials);

  const log = logger.child({ component: 'ui' });
  if (!credentials && config.metricsToken !== undefined) {
    log.warn('BB_REAPER_METRICS_TOKEN is set without BB_REAPER_UI_USER / BB_REAPER_UI_PASSWORD: every path is open on loopback, the token changes nothing');
  }
  const prefix = keyPrefix(config);
  const redis = connection ?? createRedis(config, { role: 'producer', name: 'bb-reaper:ui' });
  // The DLQ processor is a BullMQ worker: it needs a connection that waits out Redis restarts.
  const workerRedis = connection ?? createRedis(config, { role: 'worker', name: 'bb-reaper:ui-dlq' });
  const queues = createQueues({ connection: redis, prefix });
  const sweepQueues = createSweepQueues({ connection: redis, prefix });

  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true });
  if (credentials) app.addHook('onRequest', createAuthHook(credentials, loginThrottle ? { throttle: loginThrottle } : {}));
  app.addHook('onRequest', createCrossSiteHook({ checkHost: !credentials }));
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err: err.message, url: request.url }, 'request failed');
    return reply.code(status).send({ error: err.code ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'), message: err.message });
  });

  app.get('/', async (_request, reply) => reply.redirect(BOARD_PATH));
  registerHealthRoutes(app, { redis, prefix, heartbeatMaxAgeMs });
  const configuredAccounts = config.accounts?.map((a) => a.name);
  registerOpsRoutes(app, { redis, queues, sweepQueues, heartbeatMaxAgeMs, ...(slots ? { slots } : {}), ...(configuredAccounts ? { configuredAccounts } : {}) });
  const boardReady = mountBoard(app, queues, sweepQueues, { redis, ...(configuredAccounts ? { configured: configuredAccounts } : {}) });

  let url: string | undefined;
  let processor: { close(): Promise<void> } | undefined;
  let closing: Promise<void> | undefined;

  return {
    get url() {
      if (url === undefined) throw new BbReaperError('UI_NOT_LISTENING', 'The UI server has no URL before `listen()` resolved');
      return url;
    },
    async listen() {
      await boardReady;
      processor = startDeadLetterProcessor({ connection: workerRedis, prefix, logger: log, queues });
      await app.listen({ host: config.uiHost, port: config.uiPort });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.uiPort;
      const host = config.uiHost.includes(':') && !config.uiHost.startsWith('[') ? `[${config.uiHost}]` : config.uiHost;
      url = `http://${host}:${port}`;
      const auth = credentials ? `basic/bearer${credentials.metricsToken !== undefined ? ', metrics token for GET /metrics' : ''}` : 'none (loopback only)';
      log.info({ url, auth }, 'ui listening');
      return url;
    },
    close() {
      closing ??= (async () => {
        (await boardReady.catch(() => undefined))?.close();
        await app.close();
        if (processor && !(await settlesWithin(processor.close(), closeTimeoutMs))) {
          log.warn({ closeTimeoutMs }, 'dead-letter processor did not stop in time (BullMQ waits for a reconnecting connection, taskforcesh/bullmq#4656); going on');
        }
        await queues.close();
        await sweepQueues.close();
        if (!connection) {
          await Promise.all([redis.quit().catch(() => redis.disconnect()), workerRedis.quit().catch(() => workerRedis.disconnect())]);
        }
      })();
      return closing;
    },
  };
}
