import { DEFAULT_ACCOUNT } from '../../shared/names.js';
import { accessSync, constants } from 'node:fs';
import { CommanderError, Option, type Command } from 'commander';
import { checkAccountName, ConfigError, isBooleanSetting, resolveConfig, SETTINGS, type Config, type ConfigFlags, type SettingName } from '../../config/index.js';
import { BbReaperError } from '../../shared/errors.js';
import { permanentRedisFault } from '../../shared/redis.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { printable } from '../../shared/printable.js';
import { EXIT } from './exit-codes.js';
import { printErr } from './output.js';
import { displayText } from './table.js';

/** An error the CLI reports as one clear line on stderr with a chosen exit code. */
export class CliError extends BbReaperError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.FAILURE) {
    super(exitCode === EXIT.USAGE ? 'USAGE' : 'CLI_FAILURE', message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

const FLAG_HELP: Record<SettingName, string> = {
  redisUrl: 'Redis URL (with --redis-cluster: comma-separated seed nodes)',
  redisCluster: 'REDIS_URL names seed nodes of a Redis Cluster',
  redisCa: 'CA file (PEM) that signed the Redis TLS certificate',
  redisCert: 'client certificate (PEM) for Redis TLS',
  redisKey: 'private key (PEM) of the Redis client certificate',
  apiKey: 'Browserbase API key (prefer the environment variable)',
  baseUrl: 'Browserbase API base URL',
  projectId: 'Browserbase project id',
  prefix: 'Redis key prefix',
  rate: 'max close requests per second, all workers together',
  concurrency: 'max requests in flight, all workers together',
  plan: 'rate/concurrency preset: free, developer, startup, scale',
  attempts: 'attempts before dead-lettering',
  backoffMs: 'base delay of exponential backoff (ms)',
  uiPort: 'UI port',
  uiHost: 'UI host',
  uiUser: 'UI user name',
  uiPassword: 'UI password (prefer the environment variable)',
  metricsToken: 'read-only token for GET /metrics only (prefer the environment variable)',
  logLevel: 'log level',
  accountsFile: 'accounts file (JSON or YAML): many API keys, each with its own limits',
};

/** Adds the flags of these settings to a command, each naming its environment variable. */
export function addConfigOptions(cmd: Command, names: SettingName[]): Command {
  for (const name of names) {
    const s = SETTINGS[name];
    cmd.addOption(new Option(isBooleanSetting(name) ? s.flag : `${s.flag} <value>`, `${FLAG_HELP[name]} [env ${s.env}]`));
  }
  return cmd;
}

/** Resolves the configuration from commander's parsed options and the environment. */
export function loadConfig(opts: Record<string, unknown>, require: SettingName[] = [], { keysFor }: { keysFor?: readonly string[] } = {}): Config {
  const flags: ConfigFlags = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const key = SETTINGS[name].flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = opts[key];
    if (typeof v === 'string' || typeof v === 'number') flags[name] = v;
    else if (v === true && isBooleanSetting(name)) flags[name] = 'true';
  }
  return resolveConfig({ flags, env: process.env, require, checkFile: unreadable, ...(keysFor ? { keysFor } : {}) });
}

/** `--account <name>` of a command that uses one account's key (`sessions`, `projects`, `slots`, `sweep`, `stats --slots`). */
export function addAccountOption(cmd: Command): Command {
  return cmd.option('--account <name>', 'the account whose API key, base URL and project to use (see BB_REAPER_ACCOUNTS; default `default`)');
}

/** The account a command's `--account` names, `default` when none. */
export function accountOption(opts: Record<string, unknown>): string {
  return typeof opts.account === 'string' ? opts.account : DEFAULT_ACCOUNT;
}

/**
 * {@link accountOption}, checked as a name (`close`, `lease`: the account need not be configured
 * here, a worker elsewhere may serve it): a bad one is a usage error (exit 2) naming the rule.
 */
export function checkedAccountOption(opts: Record<string, unknown>): string {
  const account = accountOption(opts);
  const checked = checkAccountName(account);
  if (!checked.ok) throw new CliError(`--account: ${checked.reason}`, EXIT.USAGE);
  return account;
}

/** Why a file a setting names cannot be read, or undefined when it can. */
function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/** A logger for CLI commands: to stderr, so stdout stays data. */
export function cliLogger(config: Pick<Config, 'logLevel'>): Logger {
  return createLogger({ level: config.logLevel, destination: 2 });
}

/**
 * Prints an error the way every command does and returns the exit code to use. Messages often
 * embed values from outside (a server's message, a file's content), so every control character is
 * made visible; a configuration error keeps its own line breaks (one line per bad field).
 */
export function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    printErr(`bb-reaper: ${err.message}\n`);
    return EXIT.USAGE;
  }
  const message = err instanceof Error && typeof err.message === 'string' ? err.message : displayText(err, 200);
  if (err instanceof CliError) {
    process.stderr.write(`bb-reaper: ${printable(message)}\n`);
    return err.exitCode;
  }
  // An option value checked inside an action (toolkit/options.ts `parse*`): a usage error, as when commander checks it.
  if (err instanceof CommanderError) {
    process.stderr.write(`bb-reaper: ${printable(message)}\n`);
    return EXIT.USAGE;
  }
  // Wrong credentials, an untrusted certificate, an ACL refusal: one sentence saying what to fix.
  const fault = permanentRedisFault(err);
  if (fault) {
    process.stderr.write(`bb-reaper: ${printable(fault.message)} [${fault.code}]\n`);
    return EXIT.FAILURE;
  }
  const code = err instanceof BbReaperError ? ` [${printable(err.code)}]` : '';
  process.stderr.write(`bb-reaper: ${printable(message)}${code}\n`);
  return EXIT.FAILURE;
}

/** Wraps a command action: runs it, maps errors to exit codes, sets `process.exitCode`. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.OK;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}
