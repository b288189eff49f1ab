import type { Command } from 'commander';
import { REDIS_SETTINGS } from '../config/index.js';
import { startIngressBridge, type IngressTuning } from '../ingress/index.js';
import { keyPrefix, keys } from '../shared/names.js';
import { addConfigOptions, action, cliLogger, loadConfig } from './toolkit/command.js';
import { closeRedis, connectRedis } from './toolkit/connect.js';
import { collectOptionProblems, parseInteger } from './toolkit/options.js';
import { shutdownOnSignal } from './toolkit/shutdown.js';

interface IngressFlags {
  consumerName?: string;
  claimIdleMs?: string;
  batchSize?: string;
  blockMs?: string;
  shutdownTimeout?: string;
}

/** The bridge's tuning from the flags; every bad one is reported at once, naming flag and value. */
function tuningOf(flags: IngressFlags): IngressTuning {
  const problems = collectOptionProblems();
  const int = (flag: string, raw: string | undefined, min: number, max: number): number | undefined =>
    raw === undefined ? undefined : problems.check(() => parseInteger(raw, flag, { min, max }));
  const tuning: IngressTuning = {
    claimIdleMs: int('--claim-idle-ms', flags.claimIdleMs, 1, 86_400_000),
    batchSize: int('--batch-size', flags.batchSize, 1, 10_000),
    blockMs: int('--block-ms', flags.blockMs, 1, 60_000),
    closeTimeoutMs: int('--shutdown-timeout', flags.shutdownTimeout, 0, 3_600_000),
    ...(flags.consumerName ? { consumerName: flags.consumerName } : {}),
  };
  problems.throwIfAny();
  return Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined));
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
  addConfigOptions(cmd, [...REDIS_SETTINGS, 'prefix', 'logLevel']);
  cmd.addHelpText('after', '\nStops in two stages: the first SIGTERM/SIGINT stops reading and finishes the batch in hand (within --shutdown-timeout); a second signal exits at once. Entries left unacknowledged are claimed by another bridge later.');
  cmd.action(
    action(async (opts: IngressFlags & Record<string, unknown>) => {
      const config = loadConfig(opts);
      const tuning = tuningOf(opts);
      const logger = cliLogger(config);
      const redis = await connectRedis(config, 'ingress', 'worker');
      const bridge = startIngressBridge({ connection: redis, prefix: keyPrefix(config), logger, ...tuning });
      logger.info({ stream: keys(keyPrefix(config)).ingress, consumer: bridge.consumerName }, 'ingress bridge started');
      // The bridge bounds its own stop (--shutdown-timeout); a second signal exits 1 at once.
      return shutdownOnSignal({
        log: logger,
        messages: { stopping: 'stopping the ingress bridge (send the signal again to exit at once)', secondSignal: 'second signal: exiting now' },
        graceful: async () => {
          await bridge.close();
          await closeRedis(redis);
        },
      });
    }),
  );
}
