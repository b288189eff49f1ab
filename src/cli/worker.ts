import { Option, type Command } from 'commander';
import { startWorkerService } from '../worker/service.js';
import { addConfigOptions, action, cliLogger, loadConfig } from './common.js';
import { EXIT } from './exit-codes.js';

/** How long the first signal waits for in-flight closes before forcing exit (ms). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

export function register(program: Command): void {
  const cmd = program
    .command('worker')
    .description('Drain the close queue through the global rate limiter (also runs the ingress bridge and the dead-letter processor).')
    .option('--verify', 'confirm each close by polling GET until the session is terminal (costs extra requests)')
    .option('--no-ingress', 'do not run the ingress bridge in this process')
    .addOption(new Option('--shutdown-timeout <ms>', 'after the first SIGTERM/SIGINT, force exit after this long').default(String(DEFAULT_SHUTDOWN_TIMEOUT_MS)));
  addConfigOptions(cmd, ['redisUrl', 'apiKey', 'baseUrl', 'projectId', 'prefix', 'rate', 'concurrency', 'plan', 'attempts', 'backoffMs', 'logLevel']);
  cmd.addHelpText('after', '\nStops in two stages: the first SIGTERM/SIGINT stops fetching and finishes in-flight closes (unsent jobs go back to the queue); a second signal or the timeout forces exit.');
  cmd.action(
    action(async (opts: Record<string, unknown>) => {
      const config = loadConfig(opts, ['apiKey']);
      const timeoutMs = Number(opts.shutdownTimeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
        process.stderr.write(`bb-reaper: Expected \`--shutdown-timeout\` to be an integer ≥ 0 (ms), got \`${String(opts.shutdownTimeout)}\`\n`);
        return EXIT.USAGE;
      }
      const logger = cliLogger(config);
      const service = await startWorkerService({ config, logger, verify: opts.verify === true, ingress: opts.ingress !== false });
      return new Promise<number>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            logger.info({ signal, timeoutMs }, 'shutting down gracefully (send the signal again to force)');
            const timer = setTimeout(() => {
              logger.warn({ timeoutMs }, 'graceful shutdown timed out; forcing');
              void service.close({ force: true }).finally(() => resolve(EXIT.FAILURE));
            }, timeoutMs);
            timer.unref();
            void service.close().then(
              () => {
                clearTimeout(timer);
                resolve(EXIT.OK);
              },
              (err: Error) => {
                logger.error({ err: err.message }, 'shutdown failed');
                resolve(EXIT.FAILURE);
              },
            );
          } else {
            logger.warn({ signal }, 'second signal: forcing exit');
            void service.close({ force: true }).finally(() => resolve(EXIT.FAILURE));
            setTimeout(() => process.exit(EXIT.FAILURE), 2000).unref();
          }
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    }),
  );
}
