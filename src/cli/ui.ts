import type { Command } from 'commander';
import { LIMITS, REDIS_SETTINGS } from '../config/index.js';
import { BbReaperError } from '../shared/errors.js';
import { settlesWithin } from '../shared/time-limit.js';
import { createUiServer, type UiServer } from '../ui/index.js';
import { clientFor } from './toolkit/api-client.js';
import { addConfigOptions, action, CliError, cliLogger, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';
import { intOption } from './toolkit/options.js';
import { shutdownOnSignal } from './toolkit/shutdown.js';

/** How long the first signal waits for in-flight requests and re-drives before forcing exit (ms). */
export const DEFAULT_UI_SHUTDOWN_TIMEOUT_MS = 10_000;

export function register(program: Command): void {
  const cmd = program
    .command('ui')
    .description('serve Bull Board (/ui) with one-click re-drive of dead letters, /metrics, /healthz, /readyz and the ops API (/api/...)')
    .addOption(intOption('--shutdown-timeout <ms>', 'after the first SIGTERM/SIGINT, force exit after this long', { min: 0, unit: 'ms', default: DEFAULT_UI_SHUTDOWN_TIMEOUT_MS }));
  addConfigOptions(cmd, [...REDIS_SETTINGS, 'prefix', 'uiPort', 'uiHost', 'uiUser', 'uiPassword', 'metricsToken', 'apiKey', 'baseUrl', 'projectId', 'logLevel']);
  cmd.addHelpText(
    'after',
    '\nBinds to 127.0.0.1 by default; binding beyond loopback needs BB_REAPER_UI_USER and BB_REAPER_UI_PASSWORD\n' +
      `(at least ${LIMITS.MIN_UI_SECRET_LENGTH} characters). BB_REAPER_METRICS_TOKEN lets Prometheus read GET /metrics, and nothing else.\n` +
      'Prints the URL on stdout. Stops in two stages: the first SIGTERM/SIGINT stops listening and finishes\n' +
      'in-flight requests; a second signal or the timeout forces exit.\n' +
      'GET /api/slots needs BROWSERBASE_API_KEY (optional here: without it, it answers 503 and the UI holds no key).',
  );
  cmd.action(
    action(async (opts: Record<string, unknown> & { shutdownTimeout: number }) => {
      const config = loadConfig(opts);
      const logger = cliLogger(config);
      // The API key is optional: with it, GET /api/slots reads the project's slots; without it
      // (the compose default) the UI process holds no key at all.
      const client = config.apiKey ? clientFor(config) : undefined;
      let server: UiServer;
      try {
        server = createUiServer({ config, logger, ...(client ? { slots: { client, ...(config.projectId ? { projectId: config.projectId } : {}) } } : {}) });
      } catch (err) {
        await client?.close();
        if (err instanceof BbReaperError && (err.code === 'UI_UNSAFE_BIND' || err.code === 'UI_WEAK_SECRET')) throw new CliError(err.message, EXIT.USAGE);
        throw err;
      }
      try {
        // A refused password, an untrusted certificate or an unreachable Redis: one line, exit 1, nothing served.
        await closeRedis(await connectRedis(config, 'ui-check'));
        process.stdout.write(`${await server.listen()}/ui\n`);
      } catch (err) {
        // Its connections may be stuck retrying a Redis that refuses them: do not wait for ever.
        await settlesWithin(server.close(), 2000);
        await client?.close();
        throw err;
      }
      return shutdownOnSignal({
        log: logger,
        timeoutMs: opts.shutdownTimeout,
        graceful: async () => {
          await server.close();
          await client?.close();
          logger.info('ui stopped');
        },
        // A BullMQ connection stuck reconnecting (taskforcesh/bullmq#4656) must not keep the process alive.
        exitAfterMs: 2000,
      });
    }),
  );
}
