import type { Command } from 'commander';
import { REDIS_SETTINGS } from '../config/index.js';
import { DEFAULT_OLDEST_LIMIT, MAX_SLOTS_LIMIT } from '../ops/slots.js';
import { accountOption, action, addAccountOption, addConfigOptions, loadConfig } from './toolkit/command.js';
import { EXIT } from './toolkit/exit-codes.js';
import { intOption } from './toolkit/options.js';
import { printJson, printOut } from './toolkit/output.js';
import { formatSlots, gatherSlots } from './toolkit/slots-report.js';


export function register(program: Command): void {
  const cmd = program
    .command('slots')
    .summary('project concurrency, sessions holding slots, pending closes')
    .description(
      "The screen before a sweep (needs BROWSERBASE_API_KEY and Redis): the project's concurrency, how many sessions are RUNNING/PENDING now and how many slots are free, the oldest active sessions with their age and user metadata, and how many closes are still queued. The project is BROWSERBASE_PROJECT_ID when set, else the key's first project.",
    )
    .addOption(intOption('--limit <n>', 'how many of the oldest sessions to show', { min: 1, max: MAX_SLOTS_LIMIT, default: DEFAULT_OLDEST_LIMIT }))
    .option('--json', 'print one JSON object on stdout');
  addAccountOption(addConfigOptions(cmd, ['apiKey', 'baseUrl', 'projectId', ...REDIS_SETTINGS, 'prefix']));
  cmd.action(
    action(async (opts: Record<string, unknown> & { json?: boolean; limit: number }) => {
      const account = accountOption(opts);
      const config = loadConfig(opts, ['apiKey'], { keysFor: [account] });
      const report = await gatherSlots(config, { limit: opts.limit, account });
      if (opts.json) printJson(report);
      else printOut(formatSlots(report));
      return EXIT.OK;
    }),
  );
}
