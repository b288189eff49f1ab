import { BbReaperError } from '../shared/errors.js';
import { splitRedisUrls } from '../shared/redis.js';
import { DEFAULT_ACCOUNT, findAccount, makeAccount, readAccountsFile, type Account } from './accounts.js';
import { configSchema, FILE_SETTINGS, PLAN_PRESETS, SETTINGS, type ParsedConfig, type SettingName } from './schema.js';

/** The resolved configuration every part of bb-reaper is built from. */
export type Config = Omit<ParsedConfig, 'rate' | 'concurrency'> & {
  /** Max close requests per second, all workers together (of the `default` account formed from the environment). */
  rate: number;
  /** Max requests in flight, all workers together (of the `default` account formed from the environment). */
  concurrency: number;
  /**
   * The accounts this configuration serves, never empty: those of the accounts file, plus
   * `default` from `BROWSERBASE_API_KEY` when the file has no `default` and the key is set;
   * without a file, the one account `default`. Keys are not enumerable (see `Account`).
   */
  accounts: Account[];
};

export type ConfigFlags = Partial<Record<SettingName, string | number | undefined>>;

export interface ConfigIssue {
  /** Setting name, e.g. `rate`. */
  field: string;
  /** Where it came from: the flag or environment variable. */
  source: string;
  /** The offending value, secrets masked. */
  value: string;
  message: string;
}

/** Bad configuration: every bad field at once. Exit code 2 in the CLI. */
export class ConfigError extends BbReaperError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(
      'CONFIG_INVALID',
      `Invalid configuration:\n${issues.map((i) => `  - ${i.source} (${i.field}): ${i.message}, got ${i.value}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface ResolveConfigOptions {
  /** Values from CLI flags; they win over the environment. `undefined` means "not given". */
  flags?: ConfigFlags;
  /** The environment to read (pass `process.env`); never read implicitly. */
  env?: Record<string, string | undefined>;
  /**
   * Settings this command cannot run without, e.g. `['apiKey']`. With an accounts file, `apiKey`
   * means "the keys of the accounts in `keysFor`" instead of `BROWSERBASE_API_KEY`.
   */
  require?: SettingName[];
  /** With `apiKey` required: the accounts whose keys must be readable. Default: every account. */
  keysFor?: readonly string[];
  /** Reads a file as UTF-8 (the accounts file and key files). Default `readFileSync`. */
  readFile?: (path: string) => string;
  /**
   * Checks a file a setting names (`BB_REAPER_REDIS_CA` ...): returns why it cannot be read, or
   * undefined when it can. The CLI passes one that reads the file system; left out, file settings
   * are checked for shape only and resolving stays pure.
   */
  checkFile?: (path: string) => string | undefined;
}

/** Masks a secret, and the password inside a URL. */
export function maskValue(name: SettingName, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (SETTINGS[name].secret) return '`***`';
  const s = String(value);
  if (name === 'redisUrl') return `\`${maskRedisUrls(s)}\``;
  return `\`${s}\``;
}

/**
 * The URL with its password replaced by `***`. When the password holds a `/`, `?`, `#` or `@`
 * (`redis://:pa/ss@host`), the string does not parse as a URL, or parses with an `@` left after
 * the host: then everything between `//` (or the scheme's `:`) and the last `@` is masked, which
 * may hide more than the password, never less.
 */
export function maskUrlPassword(s: string): string {
  const at = s.lastIndexOf('@');
  if (at < 0) return s;
  try {
    const u = new URL(s);
    if (u.host !== '' && !`${u.pathname}${u.search}${u.hash}`.includes('@')) {
      if (u.password) u.password = '***';
      return u.toString();
    }
  } catch {
    // not a URL: masked below
  }
  const slashes = s.indexOf('//');
  const from = slashes >= 0 && slashes < at ? slashes + 2 : s.indexOf(':') + 1;
  return `${s.slice(0, from)}***${s.slice(at)}`;
}

/**
 * A `REDIS_URL` with every password masked: each comma-separated seed node with
 * {@link maskUrlPassword}. When the split may have cut a password holding `,redis://` (a part
 * that is no URL, or a part without `@` before one with it), the whole string is masked as one
 * URL instead: everything between the first `//` and the last `@` is hidden, which may hide more
 * than the passwords, never less.
 */
export function maskRedisUrls(s: string): string {
  const parts = splitRedisUrls(s);
  const parses = (u: string) => {
    try {
      return new URL(u).host !== '';
    } catch {
      return false;
    }
  };
  const cut = parts.some((u, i) => !parses(u) || (!u.includes('@') && parts.slice(i + 1).some((later) => later.includes('@'))));
  return cut ? maskUrlPassword(s) : parts.map(maskUrlPassword).join(',');
}

/**
 * Applies flag > environment > default, validates everything with the one schema, fills rate and
 * concurrency from the plan preset, and throws a `ConfigError` listing every bad field. Pure.
 */
export function resolveConfig({ flags = {}, env = {}, require = [], keysFor, readFile, checkFile }: ResolveConfigOptions = {}): Config {
  const raw: Partial<Record<SettingName, unknown>> = {};
  const sources: Partial<Record<SettingName, string>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const flag = flags[name];
    const fromEnv = env[SETTINGS[name].env];
    if (flag !== undefined && flag !== '') {
      raw[name] = flag;
      sources[name] = SETTINGS[name].flag;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw[name] = fromEnv;
      sources[name] = SETTINGS[name].env;
    }
  }
  const issues: ConfigIssue[] = [];
  const describe = (name: SettingName) => sources[name] ?? SETTINGS[name].env;
  const withFile = raw.accountsFile !== undefined;
  for (const name of require) {
    // With an accounts file the keys come from the accounts (checked below).
    if (name === 'apiKey' && withFile) continue;
    if (raw[name] === undefined) {
      issues.push({ field: name, source: describe(name), value: 'nothing', message: 'required by this command' });
    }
  }
  // Cross-field rule, checked on the raw values so it is reported with every other issue.
  if ((raw.uiUser === undefined) !== (raw.uiPassword === undefined)) {
    const missing: SettingName = raw.uiUser === undefined ? 'uiUser' : 'uiPassword';
    issues.push({ field: missing, source: describe(missing), value: 'nothing', message: 'BB_REAPER_UI_USER and BB_REAPER_UI_PASSWORD must be set together' });
  }
  if (checkFile) {
    for (const name of FILE_SETTINGS) {
      const path = raw[name];
      if (typeof path !== 'string') continue;
      const why = checkFile(path);
      if (why !== undefined) issues.push({ field: name, source: describe(name), value: maskValue(name, path), message: `cannot read the file (${why})` });
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]) as SettingName;
      issues.push({ field: name, source: describe(name), value: maskValue(name, raw[name]), message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  const c = parsed.data;
  const preset = PLAN_PRESETS[c.plan];
  const rate = c.rate ?? preset.rate;
  const concurrency = c.concurrency ?? preset.concurrency;
  const fromEnv = makeAccount(
    { name: DEFAULT_ACCOUNT, keySource: describe('apiKey'), ...(c.projectId !== undefined ? { projectId: c.projectId } : {}), baseUrl: c.baseUrl, plan: c.plan, rate, concurrency, attempts: c.attempts },
    c.apiKey,
  );
  let accounts = [fromEnv];
  if (c.accountsFile !== undefined) {
    const source = `${describe('accountsFile')} (${c.accountsFile})`;
    const requireKeys = require.includes('apiKey') ? (keysFor ?? 'all') : 'none';
    const read = readAccountsFile({ file: c.accountsFile, env, defaults: { baseUrl: c.baseUrl, plan: c.plan, attempts: c.attempts }, requireKeys, ...(readFile ? { readFile } : {}) });
    for (const i of read.issues) issues.push({ field: i.field, source, value: i.value, message: i.message });
    accounts = read.accounts;
    // A one-key deployment that adds a file keeps its `default` from the environment.
    if (!findAccount(accounts, DEFAULT_ACCOUNT) && c.apiKey !== undefined) accounts.unshift(fromEnv);
  }
  for (const name of keysFor ?? []) {
    if (!findAccount(accounts, name)) {
      const where = c.accountsFile !== undefined ? `${describe('accountsFile')} (${c.accountsFile})` : 'accounts (no BB_REAPER_ACCOUNTS file)';
      issues.push({ field: 'account', source: where, value: `\`${name}\``, message: `no such account; configured: ${accounts.map((a) => a.name).join(', ')}` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { ...c, rate, concurrency, accounts };
}
