import type { Command } from 'commander';
import { startIngressBridge } from '../ingress/index.js';
import { keys } from '../shared/names.js';
import { addConfigOptions, action, cliLogger, CliError, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { EXIT } from './toolkit/exit-codes.js';

interface IngressFlags {
  consumerName?: string;
  claimIdleMs?: string;
  batchSize?: string;
  blockMs?: string;
  shutdownTimeout?: string;
}

/** Parses the numeric flags; every bad one is reported at once, naming flag and value. */
function numericFlags(flags: IngressFlags): { claimIdleMs?: number; batchSize?: number; blockMs?: number; closeTimeoutMs?: number } {
  const problems: string[] = [];
  const int = (flag: string, raw: string | undefined, min: number, max: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    problems.push(`Expected \`${flag}\` to be an integer from ${min} to ${max}, got \`${raw}\``);
    return undefined;
  };
  const out = {
    claimIdleMs: int('--claim-idle-ms', flags.claimIdleMs, 1, 86_400_000),
    batchSize: int('--batch-size', flags.batchSize, 1, 10_000),
    blockMs: int('--block-ms', flags.blockMs, 1, 60_000),
    closeTimeoutMs: int('--shutdown-timeout', flags.shutdownTimeout, 0, 3_600_000),
  };
  if (problems.length > 0) throw new CliError(problems.join('; '), EXIT.USAGE);
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export function register(program: Command): void {
  const cmd = program
    .command('ingress')
    .description('move close requests that other services XADD to <prefix>:ingress into the close queue (the worker command runs this too)')
    .option('--consumer-name <name>', 'name in the consumer group (default <hostname>:<pid>:<random>; never share a fixed name between live processes)')
    .option('--claim-idle-ms <ms>', 'claim entries another consumer has held unacknowledged this long (default 30000)')
    .option('--batch-size <n>', 'entries read per round trip (default 100)')
    .option('--block-ms <ms>', 'longest wait of one read for new entries (default 2000)')
    .option('--shutdown-timeout <ms>', 'after the first SIGTERM/SIGINT, give up stopping cleanly after this long (default 5000)');
  addConfigOptions(cmd, ['redisUrl', 'prefix', 'logLevel']);
  cmd.addHelpText('after', '\nStops in two stages: the first SIGTERM/SIGINT stops reading and finishes the batch in hand (within --shutdown-timeout); a second signal exits at once. Entries left unacknowledged are claimed by another bridge later.');
  cmd.action(
    action(async (opts: IngressFlags & Record<string, unknown>) => {
      const config = loadConfig(opts);
      const tuning = numericFlags(opts);
      const logger = cliLogger(config);
      const redis = await connectRedis(config, 'ingress', 'worker');
      const bridge = startIngressBridge({ connection: redis, prefix: config.prefix, logger, ...tuning, ...(opts.consumerName ? { consumerName: opts.consumerName } : {}) });
      logger.info({ stream: keys(config.prefix).ingress, consumer: bridge.consumerName }, 'ingress bridge started');
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const onSignal = (s: NodeJS.Signals) => {
          process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
          resolve(s);
        };
        process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
      });
      logger.info({ signal }, 'stopping the ingress bridge (send the signal again to exit at once)');
      const force = (s: NodeJS.Signals) => {
        logger.warn({ signal: s }, 'second signal: exiting now');
        process.exit(EXIT.FAILURE);
      };
      process.once('SIGINT', force).once('SIGTERM', force);
      await bridge.close();
      await closeRedis(redis);
      process.off('SIGINT', force).off('SIGTERM', force);
      return EXIT.OK;
    }),
  );
}
