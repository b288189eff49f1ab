/**
 * What the commands that call the Browserbase API directly share (`sessions`, `projects`,
 * `slots`): a client built from the configuration, the one mapping of API errors to exit codes,
 * and the retry policy for reads.
 */
import type { Command } from 'commander';
import { BrowserbaseError, createBrowserbaseClient, withRetries, type BrowserbaseClient } from '../../browserbase/index.js';
import { findAccount, type Config, type SettingName } from '../../config/index.js';
import { DEFAULT_ACCOUNT } from '../../shared/names.js';
import { accountOption, action, addAccountOption, addConfigOptions, CliError, loadConfig } from './command.js';
import { EXIT } from './exit-codes.js';
import { printJson } from './output.js';

/**
 * A client for one account's API key, base URL and project (default `default`: the
 * `BROWSERBASE_*` settings, or the accounts file's `default`); the caller closes it. The config
 * must have been loaded with that account's key required (`loadConfig(..., { keysFor })`).
 */
export function clientFor(config: Pick<Config, 'accounts'>, accountName = DEFAULT_ACCOUNT): BrowserbaseClient {
  const account = findAccount(config.accounts, accountName);
  if (!account?.apiKey) throw new CliError(`no API key for the account \`${accountName}\``, EXIT.USAGE);
  return createBrowserbaseClient({ apiKey: account.apiKey, baseUrl: account.baseUrl, ...(account.projectId ? { projectId: account.projectId } : {}) });
}

export type Opts = Record<string, unknown> & { json?: boolean };

/** Runs `fn` with a client built from the configuration (needs the API key); maps API errors to exit codes. */
export async function withClient(opts: Opts, fn: (client: BrowserbaseClient) => Promise<number>): Promise<number> {
  const account = accountOption(opts);
  const config = loadConfig(opts, ['apiKey'], { keysFor: [account] });
  const client = clientFor(config, account);
  try {
    return await fn(client);
  } catch (err) {
    throw toCliError(err);
  } finally {
    await client.close();
  }
}

/** API errors as the CLI reports them: bad input (invalid id, 400/422) is exit 2, the rest exit 1. */
export function toCliError(err: unknown): unknown {
  if (!(err instanceof BrowserbaseError)) return err;
  const msg = `${err.message} [${err.code}]`;
  if (err.code === 'INVALID_SESSION_ID') return new CliError(msg, EXIT.USAGE);
  if (err.code === 'REJECTED' && (err.statusCode === 400 || err.statusCode === 422)) return new CliError(msg, EXIT.USAGE);
  return new CliError(msg, EXIT.FAILURE);
}

export const retried = <T>(fn: () => Promise<T>) => withRetries(fn, { retries: 3 });

/**
 * Adds `<name> <id>`: reads one thing from the API (retried on 429/5xx) and prints it for humans,
 * or the API's JSON with `--json`. The shape of `sessions debug|logs` and `projects get|usage`.
 */
export function addReadCommand<T>(
  parent: Command,
  spec: { name: string; description: string; id: string; settings: SettingName[] },
  read: (client: BrowserbaseClient, id: string) => Promise<T>,
  print: (value: T) => void,
): void {
  const cmd = parent.command(spec.name).description(spec.description).argument('<id>', spec.id).option('--json', "print the API's JSON");
  addAccountOption(addConfigOptions(cmd, spec.settings)).action(
    action(async (id: string, opts: Opts) =>
      withClient(opts, async (client) => {
        const value = await retried(() => read(client, id));
        if (opts.json) printJson(value, 2);
        else print(value);
        return EXIT.OK;
      }),
    ),
  );
}
