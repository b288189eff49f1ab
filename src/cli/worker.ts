import { Option, type Command } from 'commander';
import { BrowserbaseError } from '../browserbase/index.js';
import { startWorkerService } from '../worker/service.js';
import { addConfigOptions, action, CliError, cliLogger, loadConfig } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';

/** How long the first signal waits for in-flight closes before forcing exit (ms). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

export function register(program: Command): void {
  const cmd = program
    .command('worker')
    .description('drain the close queue through the global rate limiter (also runs the ingress bridge, recurring sweeps and the dead-letter processor)')
    .option('--verify', 'confirm each close by polling GET until the session is terminal (costs extra requests)')
    .option('--no-ingress', 'do not run the ingress bridge in this process')
    .option('--no-sweeps', 'do not run recurring sweeps (`sweep --every`) in this process')
    .addOption(new Option('--request-timeout <ms>', "timeout of one API request (headers, then body); a dead worker's limiter slots are reclaimed after about twice this").default('10000'))
    .addOption(new Option('--lock-duration <ms>', "how long a dead worker's jobs stay locked before another worker retries them").default('30000'))
    .addOption(new Option('--shutdown-timeout <ms>', 'after the first SIGTERM/SIGINT, force exit after this long').default(String(DEFAULT_SHUTDOWN_TIMEOUT_MS)));
  addConfigOptions(cmd, ['redisUrl', 'apiKey', 'baseUrl', 'projectId', 'prefix', 'rate', 'concurrency', 'plan', 'attempts', 'backoffMs', 'logLevel']);
  cmd.addHelpText('after', '\nAt start, checks once that --base-url answers like the Browserbase API for the key (exits 1 with one line when it does not).\nStops in two stages: the first SIGTERM/SIGINT stops fetching and finishes in-flight closes (unsent jobs go back to the queue); a second signal or the timeout forces exit.');
  cmd.action(
    action(async (opts: Record<string, unknown>) => {
      const config = loadConfig(opts, ['apiKey']);
      const timeoutMs = intFlag('--shutdown-timeout', opts.shutdownTimeout, 0);
      const lockDurationMs = intFlag('--lock-duration', opts.lockDuration, 1000);
      const requestTimeoutMs = intFlag('--request-timeout', opts.requestTimeout, 100);
      const logger = cliLogger(config);
      const service = await startWorkerService({
        config,
        logger,
        verify: opts.verify === true,
        ingress: opts.ingress !== false,
        sweeps: opts.sweeps !== false,
        requestTimeoutMs,
        worker: { lockDurationMs, stalledIntervalMs: Math.max(500, Math.floor(lockDurationMs / 2)) },
      }).catch((err: unknown) => {
        // The start-up API check refused: one line, exit 1, nothing started.
        if (err instanceof BrowserbaseError && err.code === 'REJECTED') throw new CliError(`worker not started: ${err.message}`, EXIT.FAILURE);
        throw err;
      });
      return new Promise<number>((resolve) => {
        let signals = 0;
        let forced = false;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            logger.info({ signal, timeoutMs }, 'shutting down gracefully (send the signal again to force)');
            const timer = setTimeout(() => {
              logger.warn({ timeoutMs }, 'graceful shutdown timed out; forcing');
              forced = true;
              void service.close({ force: true }).finally(() => resolve(EXIT.FAILURE));
              setTimeout(() => process.exit(EXIT.FAILURE), 2000).unref();
            }, timeoutMs);
            timer.unref();
            void service.close().then(
              () => {
                clearTimeout(timer);
                resolve(forced ? EXIT.FAILURE : EXIT.OK);
              },
              (err: Error) => {
                logger.error({ err: err.message }, 'shutdown failed');
                resolve(EXIT.FAILURE);
              },
            );
          } else {
            logger.warn({ signal }, 'second signal: forcing exit');
            forced = true;
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

function intFlag(flag: string, value: unknown, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`Expected \`${flag}\` to be an integer ≥ ${min} (ms), got \`${String(value)}\``, EXIT.USAGE);
  return n;
}
