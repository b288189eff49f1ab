import type { Command } from 'commander';
import { BrowserbaseError } from '../browserbase/index.js';
import { maskRedisUrls, REDIS_SETTINGS } from '../config/index.js';
import { permanentRedisFault } from '../shared/redis.js';
import { startWorkerService } from '../worker/service.js';
import { checkAccountName, findAccount, type Account } from '../config/index.js';
import { DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS } from '../worker/unknown-accounts.js';
import { DEFAULT_ACCOUNT } from '../shared/names.js';
import { addConfigOptions, action, CliError, cliLogger, loadConfig } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { intOption } from './toolkit/options.js';
import { shutdownOnSignal } from './toolkit/shutdown.js';

/** How long the first signal waits for in-flight closes before forcing exit (ms). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

type WorkerOptions = Record<string, unknown> & { verify?: boolean; ingress?: boolean; sweeps?: boolean; requestTimeout: number; lockDuration: number; shutdownTimeout: number; account?: string; unknownAccountGrace: number };

export function register(program: Command): void {
  const cmd = program
    .command('worker')
    .description('drain the close queue through the global rate limiter (also runs the ingress bridge, recurring sweeps and the dead-letter processor)')
    .option('--verify', 'confirm each close by polling GET until the session is terminal (costs extra requests)')
    .option('--no-ingress', 'do not run the ingress bridge in this process')
    .option('--no-sweeps', 'do not run recurring sweeps (`sweep --every`) in this process')
    .addOption(intOption('--request-timeout <ms>', "timeout of one API request (headers, then body); a dead worker's limiter slots are reclaimed after about twice this", { min: 100, unit: 'ms', default: 10_000 }))
    .addOption(intOption('--lock-duration <ms>', "how long a dead worker's jobs stay locked before another worker retries them", { min: 1000, unit: 'ms', default: 30_000 }))
    .addOption(intOption('--shutdown-timeout <ms>', 'after the first SIGTERM/SIGINT, force exit after this long', { min: 0, unit: 'ms', default: DEFAULT_SHUTDOWN_TIMEOUT_MS }))
    .option('--account <names>', 'serve only these accounts of the accounts file (comma-separated; default: every account in it)')
    .addOption(intOption('--unknown-account-grace <ms>', 'dead-letter closes as UNKNOWN_ACCOUNT once their account has gone unserved by every live worker this long', { min: 1000, unit: 'ms', default: DEFAULT_UNKNOWN_ACCOUNT_GRACE_MS }));
  addConfigOptions(cmd, [...REDIS_SETTINGS, 'apiKey', 'baseUrl', 'projectId', 'prefix', 'rate', 'concurrency', 'plan', 'attempts', 'backoffMs', 'logLevel']);
  cmd.addHelpText('after', '\nAt start, checks once that --base-url answers like the Browserbase API for the key (exits 1 with one line when it does not).\nStops in two stages: the first SIGTERM/SIGINT stops fetching and finishes in-flight closes (unsent jobs go back to the queue); a second signal or the timeout forces exit.');
  cmd.action(
    action(async (opts: WorkerOptions) => {
      const wanted = opts.account === undefined ? undefined : [...new Set(opts.account.split(',').map((n) => n.trim()).filter((n) => n !== ''))];
      if (wanted !== undefined) {
        if (wanted.length === 0) throw new CliError('--account needs at least one account name', EXIT.USAGE);
        for (const n of wanted) {
          const c = checkAccountName(n);
          if (!c.ok) throw new CliError(`--account: ${c.reason}`, EXIT.USAGE);
        }
      }
      const config = loadConfig(opts, ['apiKey'], wanted ? { keysFor: wanted } : {});
      // Every account of the accounts file (or the one BROWSERBASE_API_KEY forms), or those named.
      const accounts: Account[] = [];
      for (const n of wanted ?? config.accounts.map((a) => a.name)) {
        const a = findAccount(config.accounts, n);
        if (!a) throw new CliError(`--account: no account \`${n}\` in the accounts file (it has: ${config.accounts.map((x) => x.name).join(', ')})`, EXIT.USAGE);
        accounts.push(a);
      }
      const lockDurationMs = opts.lockDuration;
      const logger = cliLogger(config);
      if (accounts.length > 1 || accounts[0]?.name !== DEFAULT_ACCOUNT) logger.info({ accounts: accounts.map((a) => a.name) }, `serving ${accounts.length} account(s): ${accounts.map((a) => a.name).join(', ')}`);
      const service = await startWorkerService({
        config,
        accounts,
        logger,
        unknownAccountGraceMs: opts.unknownAccountGrace,
        verify: opts.verify === true,
        ingress: opts.ingress !== false,
        sweeps: opts.sweeps !== false,
        requestTimeoutMs: opts.requestTimeout,
        worker: { lockDurationMs, stalledIntervalMs: Math.max(500, Math.floor(lockDurationMs / 2)) },
      }).catch((err: unknown) => {
        // The start-up API check refused: one line, exit 1, nothing started.
        if (err instanceof BrowserbaseError && err.code === 'REJECTED') throw new CliError(`worker not started: ${err.message}`, EXIT.FAILURE);
        // A refused password, an untrusted certificate, an ACL refusal: one line, exit 1.
        const fault = permanentRedisFault(err);
        if (fault) throw new CliError(`worker not started: Redis at ${maskRedisUrls(config.redisUrl)}: ${fault.message} [${fault.code}]`, EXIT.FAILURE);
        throw err;
      });
      return shutdownOnSignal({
        log: logger,
        timeoutMs: opts.shutdownTimeout,
        graceful: () => service.close(),
        force: () => service.close({ force: true }),
        // On Redis Cluster, BullMQ 6.7's Worker.close() can leave its blocking connection
        // reconnecting (its cluster recovery races the close): it must not keep the process alive.
        exitAfterMs: 2000,
      });
    }),
  );
}
