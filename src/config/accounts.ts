/**
 * Accounts: the Browserbase API keys one deployment serves, each with its own limits. Read from
 * the accounts file (`BB_REAPER_ACCOUNTS`, JSON or YAML); without one, `BROWSERBASE_API_KEY` and
 * its neighbours form the single account `default`, so nothing changes for a one-key deployment.
 *
 * A key is never written in the file: an account names the environment variable holding it
 * (`apiKeyEnv`) or a file holding it (`apiKeyFile`, e.g. a Docker secret). The key read from
 * there is kept out of every enumerable property (see {@link Account.apiKey}), so logging or
 * serialising an account cannot print it.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ACCOUNT_NAME_PATTERN, ACCOUNT_NAME_RULE, DEFAULT_ACCOUNT } from '../shared/names.js';
import { printable } from '../shared/printable.js';
import { intFrom, LIMITS, PLAN_PRESETS, PLANS, url, type Plan } from './schema.js';

export { ACCOUNT_NAME_PATTERN, DEFAULT_ACCOUNT };

/** A checked account name or a message saying what is wrong with it. Pure, never throws. */
export function checkAccountName(name: unknown): { ok: true; name: string } | { ok: false; reason: string } {
  if (typeof name !== 'string') return { ok: false, reason: `expected an account name (a string), got ${typeof name}` };
  if (ACCOUNT_NAME_PATTERN.test(name)) return { ok: true, name };
  return { ok: false, reason: `expected an account name: ${ACCOUNT_NAME_RULE}, got \`${printable(name.slice(0, 80))}\`` };
}

/** One account as the file gives it. */
const accountEntrySchema = z.strictObject({
  /** Environment variable holding the key. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'expected the name of an environment variable (letters, digits, `_`)').optional(),
  /** File holding the key (a Docker secret, ...); surrounding whitespace is ignored. */
  apiKeyFile: z.string().min(1, 'expected a file path').optional(),
  projectId: z.string().min(1).max(256).optional(),
  baseUrl: url(['http:', 'https:']).optional(),
  plan: z.enum(PLANS, { error: `expected one of ${PLANS.join(', ')}` }).optional(),
  rate: intFrom(1, LIMITS.MAX_RATE).optional(),
  concurrency: intFrom(1, LIMITS.MAX_CONCURRENCY).optional(),
  attempts: intFrom(1, LIMITS.MAX_ATTEMPTS).optional(),
});

export type AccountEntry = z.output<typeof accountEntrySchema>;

/** An account ready to use. */
export interface Account {
  name: string;
  /**
   * The key, or undefined when it was not required and could not be read. Not enumerable: it is
   * absent from `JSON.stringify`, `{...account}`, pino and `util.inspect` output.
   */
  readonly apiKey: string | undefined;
  /** Where the key comes from, for messages: `BB_KEY_PROD`, `file /run/secrets/prod`, `BROWSERBASE_API_KEY`. */
  keySource: string;
  projectId?: string;
  baseUrl: string;
  plan: Plan;
  /** Max close requests per second, all workers together. */
  rate: number;
  /** Max requests in flight, all workers together. */
  concurrency: number;
  /** Attempts before dead-lettering. */
  attempts: number;
}

/** Builds an {@link Account}, its key hidden from enumeration. */
export function makeAccount(fields: Omit<Account, 'apiKey'>, apiKey: string | undefined): Account {
  const account = { ...fields } as Account;
  Object.defineProperty(account, 'apiKey', { value: apiKey, enumerable: false, writable: false });
  return account;
}

/** A problem with the accounts file: `field` is a path such as `accounts.prod.rate`. */
export interface AccountIssue {
  field: string;
  message: string;
  /** The offending value as shown (never a key). */
  value: string;
}

/** Defaults an account falls back to, from the rest of the configuration. */
export interface AccountDefaults {
  baseUrl: string;
  plan: Plan;
  attempts: number;
}

export interface ReadAccountsOptions {
  /** Path of the accounts file. */
  file: string;
  env: Record<string, string | undefined>;
  defaults: AccountDefaults;
  /** Accounts whose key must be readable (a missing one is an issue); others may lack it. */
  requireKeys: 'all' | 'none' | readonly string[];
  /** Reads a file as UTF-8 (tests inject it). Default `readFileSync`. */
  readFile?: (path: string) => string;
}

const shown = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return `\`${printable(s.length > 80 ? `${s.slice(0, 79)}…` : s)}\``;
};

/** Field names that would hold a key written inline: refused with a message saying what to do instead. */
const INLINE_KEY_FIELDS = ['apiKey', 'api_key', 'key', 'apikey', 'BROWSERBASE_API_KEY'];

/**
 * Reads and checks the accounts file; every problem is returned at once (the file's syntax,
 * its shape, each bad field of each account, each key that cannot be read). Never throws.
 */
export function readAccountsFile(o: ReadAccountsOptions): { accounts: Account[]; issues: AccountIssue[] } {
  const readFile = o.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const issues: AccountIssue[] = [];
  let text: string;
  try {
    text = readFile(o.file);
  } catch (err) {
    return { accounts: [], issues: [{ field: 'file', value: shown(o.file), message: `cannot read the accounts file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }] };
  }
  let doc: unknown;
  try {
    doc = extname(o.file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const kind = extname(o.file).toLowerCase() === '.json' ? 'JSON' : 'YAML';
    return { accounts: [], issues: [{ field: 'file', value: shown(o.file), message: `not valid ${kind}: ${printable((err as Error).message.split('\n')[0] ?? '')}` }] };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { accounts: [], issues: [{ field: 'file', value: shown(doc), message: 'expected an object with an `accounts` map: {"accounts": {"prod": {"apiKeyEnv": "BB_KEY_PROD"}}}' }] };
  }
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'accounts') issues.push({ field: k, value: shown(top[k]), message: 'unknown field (the file holds only `accounts`)' });
  }
  const map = top.accounts;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    issues.push({ field: 'accounts', value: shown(map), message: 'expected a map of account name to settings: {"prod": {"apiKeyEnv": "BB_KEY_PROD"}}' });
    return { accounts: [], issues };
  }
  const names = Object.keys(map);
  if (names.length === 0) issues.push({ field: 'accounts', value: '`{}`', message: 'expected at least one account' });
  const accounts: Account[] = [];
  for (const name of names) {
    const at = `accounts.${printable(name.slice(0, 80))}`;
    const checked = checkAccountName(name);
    if (!checked.ok) issues.push({ field: at, value: shown(name), message: checked.reason });
    const raw = (map as Record<string, unknown>)[name];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push({ field: at, value: shown(raw), message: 'expected the account\'s settings as an object, e.g. {"apiKeyEnv": "BB_KEY_PROD"}' });
      continue;
    }
    const entry = { ...(raw as Record<string, unknown>) };
    // A key written inline is refused without ever echoing it.
    for (const f of INLINE_KEY_FIELDS) {
      if (f in entry) {
        issues.push({ field: `${at}.${f}`, value: '`***`', message: 'an API key is never written in the accounts file: name the environment variable that holds it (`apiKeyEnv`) or a file (`apiKeyFile`, e.g. a Docker secret)' });
        delete entry[f];
      }
    }
    const parsed = accountEntrySchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          const message = 'unknown field; an account has apiKeyEnv or apiKeyFile, and optional projectId, baseUrl, plan, rate, concurrency, attempts';
          issues.push({ field: `${at}.${issue.keys.join(', ')}`, value: shown(entry[issue.keys[0] as string]), message });
        } else {
          issues.push({ field: `${at}.${issue.path.map(String).join('.')}`, value: shown(entry[String(issue.path[0])]), message: issue.message });
        }
      }
      continue;
    }
    const e = parsed.data;
    if ((e.apiKeyEnv === undefined) === (e.apiKeyFile === undefined)) {
      issues.push({ field: `${at}.apiKeyEnv`, value: e.apiKeyEnv === undefined ? 'nothing' : shown(e.apiKeyEnv), message: 'expected exactly one of apiKeyEnv (an environment variable holding the key) or apiKeyFile (a file holding it)' });
      continue;
    }
    if (!checked.ok) continue;
    const needsKey = o.requireKeys === 'all' || (o.requireKeys !== 'none' && o.requireKeys.includes(name));
    const key = readKey(e, o.env, readFile);
    if (key.issue && needsKey) issues.push({ field: `${at}.${e.apiKeyEnv !== undefined ? 'apiKeyEnv' : 'apiKeyFile'}`, value: shown(e.apiKeyEnv ?? e.apiKeyFile), message: key.issue });
    const plan = e.plan ?? o.defaults.plan;
    accounts.push(
      makeAccount(
        {
          name,
          keySource: e.apiKeyEnv ?? `file ${e.apiKeyFile}`,
          ...(e.projectId !== undefined ? { projectId: e.projectId } : {}),
          baseUrl: e.baseUrl ?? o.defaults.baseUrl,
          plan,
          rate: e.rate ?? PLAN_PRESETS[plan].rate,
          concurrency: e.concurrency ?? PLAN_PRESETS[plan].concurrency,
          attempts: e.attempts ?? o.defaults.attempts,
        },
        key.value,
      ),
    );
  }
  return { accounts, issues };
}

function readKey(e: AccountEntry, env: Record<string, string | undefined>, readFile: (p: string) => string): { value?: string; issue?: string } {
  if (e.apiKeyEnv !== undefined) {
    const v = env[e.apiKeyEnv];
    return v !== undefined && v.trim() !== '' ? { value: v.trim() } : { issue: `the environment variable ${e.apiKeyEnv} is not set (it must hold this account's API key)` };
  }
  try {
    const v = readFile(e.apiKeyFile as string).trim();
    return v !== '' ? { value: v } : { issue: 'the key file is empty' };
  } catch (err) {
    return { issue: `cannot read the key file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

/** The account named `name`, or undefined. */
export function findAccount(accounts: readonly Account[], name: string): Account | undefined {
  return accounts.find((a) => a.name === name);
}
