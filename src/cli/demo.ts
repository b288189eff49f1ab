import type { Command } from 'commander';
import { LOG_LEVELS } from '../config/schema.js';
import { HOSTILE_IDS, runDemo } from '../demo/run-demo.js';
import { DEMO_SETTINGS, formatDemoSummary } from '../demo/summary.js';
import { BbReaperError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { DEFAULT_REDIS_URL } from '../shared/redis.js';
import { action, CliError } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { choiceOption, intOption } from './toolkit/options.js';
import { printJson, printOut } from './toolkit/output.js';
import { createProgressReporter } from './toolkit/progress.js';
import { onTwoStageSignals } from './toolkit/shutdown.js';

/** Most sessions a demo run creates. */
export const MAX_DEMO_SESSIONS = 100_000;

interface DemoCliOptions {
  sessions: number;
  json?: boolean;
  redisUrl?: string;
  ui?: boolean;
  hold?: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
}

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .summary('zero-config end-to-end run on the simulator')
    .description(
      'Zero-config end-to-end run: uses the Redis at REDIS_URL (default 127.0.0.1:6379) under a private prefix, or ' +
        'starts an embedded redis-server when none answers; starts the Browserbase simulator with a rate limit; ' +
        'creates simulated sessions; enqueues their closes in arrays; runs two workers with a progress bar while a ' +
        'short burst of 5xx answers forces retries and two malformed ids are dead-lettered; prints a summary and ' +
        'serves the queue UI. Needs no API key: it never talks to Browserbase.',
    )
    .addOption(intOption('--sessions <n>', `sessions to create and close (1-${MAX_DEMO_SESSIONS})`, { min: 1, max: MAX_DEMO_SESSIONS, default: DEMO_SETTINGS.sessions }))
    .option('--json', 'print the summary as JSON on stdout')
    .option('--redis-url <url>', 'Redis to use when it answers [env REDIS_URL]')
    .option('--no-ui', 'do not serve the queue UI')
    .option('--hold', 'keep the UI, simulator and Redis up after the summary until Ctrl-C (default on a terminal)')
    .option('--no-hold', 'exit right after the summary')
    .addOption(choiceOption('--log-level <level>', 'log level of the workers (stderr)', LOG_LEVELS, 'error'));
  cmd.addHelpText('after', '\nExit codes: 0 done (the demo\'s dead letters are expected); 1 runtime failure (e.g. no Redis and no redis-server); 2 invalid usage; 130 interrupted.');
  cmd.action(action(async (opts: DemoCliOptions) => runDemoCommand(opts)));
}

async function runDemoCommand(opts: DemoCliOptions): Promise<number> {
  const sessions = opts.sessions;
  const redisUrl = opts.redisUrl ?? (process.env.REDIS_URL || DEFAULT_REDIS_URL);
  const hold = opts.hold ?? Boolean(process.stdout.isTTY && process.stdin.isTTY);
  const logger = createLogger({ level: opts.logLevel, destination: 2 });
  const progress = createProgressReporter({ label: 'closing', total: sessions + HOSTILE_IDS.length, json: opts.json });
  // Every human line goes through the reporter: while the bar is drawn it prints above the bar, not into its line.
  const say = (line: string) => {
    if (!opts.json) progress.log(line);
  };

  const controller = new AbortController();
  // Two stages: the first signal stops the run (the summary still prints), a second exits at once.
  const removeSignalHandlers = onTwoStageSignals({
    first() {
      say('\nstopping (Ctrl-C again to force)...');
      controller.abort();
    },
    later: () => process.exit(EXIT.INTERRUPTED),
  });
  try {
    let run;
    try {
      run = await runDemo({
        sessions,
        redisUrl,
        ui: opts.ui !== false,
        logger,
        signal: controller.signal,
        onStep: say,
        onProgress: (p) => {
          progress.setTotal(p.total);
          progress.update(p.total - p.pending, { closed: p.closed, alreadyGone: p.alreadyGone, deadLettered: p.deadLettered });
        },
      });
    } catch (err) {
      if (err instanceof BbReaperError && err.code === 'REDIS_UNAVAILABLE') throw new CliError(err.message, EXIT.FAILURE);
      throw err;
    } finally {
      progress.stop();
    }
    const { summary } = run;
    if (opts.json) printJson(summary);
    else printOut(formatDemoSummary(summary));
    if (run.uiUrl && hold && !summary.interrupted) {
      say(`\nqueue UI: ${run.uiUrl}  (dead letters: the dead-letter queue's Failed tab; press Ctrl-C to stop everything)`);
      await new Promise<void>((resolve) => {
        if (controller.signal.aborted) resolve();
        controller.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    await run.stop();
    return summary.interrupted ? EXIT.INTERRUPTED : EXIT.OK;
  } finally {
    removeSignalHandlers();
  }
}
